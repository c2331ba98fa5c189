//! The generated key hierarchy. Certificates are made from deterministically generated
//! keys, by rcgen for RSA/ECDSA chains and by our own DER writer ([`write_certificate`])
//! whenever the subject or the issuer key is ML-DSA (rcgen 0.13 cannot) or the issuer was
//! itself written by hand; both paths write the same fields and extensions. The hierarchy
//! is admitted at run time through the real gatekeepers by a keyring script
//! (`keyring.script`), so its linking is measured and checked.

use super::der;
use super::keys::{self, KeyAlgo};
use super::sign::{SignerRef, SigningKey};
use crate::error::Error;
use crate::hash::HashAlgo;
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
    /// The subject Name, DER: the issuer Name of the certificates this one issues.
    pub subject_der: Vec<u8>,
    /// rcgen's certificate and key pair of the subject key when rcgen wrote this
    /// certificate, so rcgen issues below it (the RSA/ECDSA corpora stay byte-identical to
    /// what they always were); `None` for a hand-written one, below which every
    /// certificate is hand-written too.
    rc: Option<(Certificate, KeyPair)>,
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
///
/// rcgen writes it when neither key is ML-DSA and the issuer (if any) was written by
/// rcgen; otherwise [`write_certificate`] does, signed by the issuer's [`SigningKey`].
pub fn issue(req: CertRequest<'_>) -> Result<Issued, Error> {
    let err = |message: String| Error::Input {
        path: req.name.into(),
        message,
    };
    let key = SigningKey::from_pkcs8(req.name, req.pkcs8, req.algo)?;
    // The subject key's SubjectPublicKeyInfo and its BIT STRING contents (what SKID
    // method 1 hashes), and rcgen's key pair for RSA/ECDSA.
    let (spki, rc_key) = match key.ml_dsa_public_key() {
        Some(pk) => (ml_dsa_spki(req.algo, &pk), None),
        None => {
            let k = KeyPair::try_from(req.pkcs8).map_err(|e| err(format!("key: {e}")))?;
            (k.public_key_der(), Some(k))
        }
    };
    let skid = match &req.skid {
        Some(s) => s.clone(),
        None => {
            let raw = match &rc_key {
                Some(k) => k.public_key_raw().to_vec(),
                None => key.ml_dsa_public_key().unwrap_or_default(),
            };
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &raw)
                .as_ref()
                .to_vec()
        }
    };
    let by_rcgen = match (&rc_key, req.issuer) {
        (Some(_), None) => true,
        (Some(_), Some(i)) => i.rc.is_some(),
        (None, _) => false,
    };
    let (der, rc) = match (rc_key, by_rcgen) {
        (Some(rc_key), true) => {
            let p = rcgen_params(&req, &skid);
            let cert = match req.issuer.and_then(|i| i.rc.as_ref()) {
                None => p.self_signed(&rc_key),
                Some((icert, ikey)) => p.signed_by(&rc_key, icert, ikey),
            }
            .map_err(|e| err(format!("certificate: {e}")))?;
            (cert.der().to_vec(), Some((cert, rc_key)))
        }
        _ => {
            let subject = name(req.cn);
            let (issuer_name, issuer_skid, issuer_key, issuer_algo) = match req.issuer {
                Some(i) => (i.subject_der.clone(), i.signer.skid.clone(), &i.key, i.algo),
                None => (subject.clone(), skid.clone(), &key, req.algo),
            };
            let der = write_certificate(
                &Tbs {
                    serial: req.serial,
                    issuer: &issuer_name,
                    subject: &subject,
                    spki: &spki,
                    role: req.role,
                    skid: &skid,
                    akid: &issuer_skid,
                },
                issuer_key,
                issuer_algo,
            )?;
            (der, None)
        }
    };
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| err(format!("re-parse: {e}")))?;
    let signer = SignerRef {
        issuer_der: parsed.tbs_certificate.issuer.as_raw().to_vec(),
        serial: parsed.tbs_certificate.raw_serial().to_vec(),
        skid,
    };
    let subject_der = parsed.tbs_certificate.subject.as_raw().to_vec();
    Ok(Issued {
        name: req.name.to_string(),
        algo: req.algo,
        der,
        subject_der,
        rc,
        key,
        signer,
    })
}

/// rcgen's parameters for `req`: what every generated certificate holds.
fn rcgen_params(req: &CertRequest<'_>, skid: &[u8]) -> CertificateParams {
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
                der::tlv(0x04, skid),
            ));
        }
    }
    p.key_identifier_method = KeyIdMethod::PreSpecified(skid.to_vec());
    p.use_authority_key_identifier_extension = true;
    p
}

/// `Name ::= SEQUENCE { SET { O = "trustbench" }, SET { CN = cn } }` with UTF8String
/// values, as rcgen writes the generator's names.
fn name(cn: &str) -> Vec<u8> {
    let rdn = |attr: &[u8], value: &str| {
        der::tlv(
            0x31,
            &der::seq(&[&der::oid(attr), &der::tlv(0x0c, value.as_bytes())]),
        )
    };
    der::seq(&[&rdn(oid::O, "trustbench"), &rdn(oid::CN, cn)])
}

/// An ML-DSA SubjectPublicKeyInfo: `SEQUENCE { SEQUENCE { id-ml-dsa-NN }, BIT STRING 0x00 ‖
/// pk }`, parameters absent (RFC 9881). `algo` is an ML-DSA [`KeyAlgo`].
fn ml_dsa_spki(algo: KeyAlgo, pk: &[u8]) -> Vec<u8> {
    let alg = algo.ml_dsa().map(|l| der::alg(l.oid())).unwrap_or_default();
    der::seq(&[&alg, &der::tlv(0x03, &[&[0u8][..], pk].concat())])
}

/// The TBSCertificate fields that differ between certificates.
pub struct Tbs<'a> {
    /// The serial number.
    pub serial: u64,
    /// The issuer Name, DER.
    pub issuer: &'a [u8],
    /// The subject Name, DER.
    pub subject: &'a [u8],
    /// The subject's SubjectPublicKeyInfo, DER.
    pub spki: &'a [u8],
    /// CA or signer: basicConstraints and keyUsage.
    pub role: Role,
    /// The subjectKeyIdentifier.
    pub skid: &'a [u8],
    /// The authorityKeyIdentifier's keyIdentifier: the issuer's SKID (its own for a
    /// self-signed certificate).
    pub akid: &'a [u8],
}

/// The certificate signatureAlgorithm an issuer key of `algo` writes (the one rcgen picks
/// for that key): sha256WithRSAEncryption with NULL, ecdsa-with-SHA256 (P-256) or -SHA384
/// (P-384), id-ml-dsa-NN without parameters; and the hash an RSA/ECDSA signature is over.
fn cert_signature_alg(algo: KeyAlgo) -> (Vec<u8>, HashAlgo) {
    match algo {
        KeyAlgo::Rsa(_) => (der::alg_null(oid::SHA256_WITH_RSA), HashAlgo::Sha256),
        KeyAlgo::P256 => (
            der::alg(&[oid::ECDSA_SHA2, &[2]].concat()),
            HashAlgo::Sha256,
        ),
        KeyAlgo::P384 => (
            der::alg(&[oid::ECDSA_SHA2, &[3]].concat()),
            HashAlgo::Sha384,
        ),
        // Pure ML-DSA over the TBS bytes: no hash (the value is unused).
        KeyAlgo::MlDsa(l) => (der::alg(l.oid()), HashAlgo::Sha512),
    }
}

/// Writes a certificate by hand, field for field what the rcgen path writes (version 3,
/// serial, the issuer's signatureAlgorithm, names, validity 2025-01-01 to 2045-01-01 in
/// UTCTime, then the extensions in rcgen's order: authorityKeyIdentifier (keyid),
/// keyUsage (critical; rcgen's two-octet BIT STRING), subjectKeyIdentifier, and for a CA
/// basicConstraints (critical, cA TRUE)), signed by `issuer_key` (of `issuer_algo`) over
/// the exact TBSCertificate DER: ML-DSA over the bytes themselves, RSA/ECDSA over their
/// digest. Failures are the signing key's [`Error::Input`].
pub fn write_certificate(
    tbs: &Tbs<'_>,
    issuer_key: &SigningKey,
    issuer_algo: KeyAlgo,
) -> Result<Vec<u8>, Error> {
    let (sig_alg, hash) = cert_signature_alg(issuer_algo);
    let serial = {
        let be = tbs.serial.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count().min(7);
        let mut v = be[skip..].to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        der::tlv(0x02, &v)
    };
    let utc = |t: &str| der::tlv(0x17, t.as_bytes());
    let ext = |id: &[u8], critical: bool, value: &[u8]| {
        let crit: &[u8] = if critical { &[0x01, 0x01, 0xff] } else { &[] };
        der::seq(&[&der::oid(id), crit, &der::tlv(0x04, value)])
    };
    // rcgen's key usage: 9 named bits written as two octets, 7 unused bits.
    let key_usage: &[u8] = match tbs.role {
        // keyCertSign (5) | cRLSign (6).
        Role::Ca => &[0x03, 0x03, 0x07, 0x06, 0x00],
        // digitalSignature (0).
        Role::Signer => &[0x03, 0x03, 0x07, 0x80, 0x00],
    };
    let mut exts = vec![
        ext(oid::AKID, false, &der::seq(&[&der::tlv(0x80, tbs.akid)])),
        ext(oid::KEY_USAGE, true, key_usage),
        ext(oid::SKID, false, &der::tlv(0x04, tbs.skid)),
    ];
    if tbs.role == Role::Ca {
        exts.push(ext(
            oid::BASIC_CONSTRAINTS,
            true,
            &der::seq(&[&[0x01, 0x01, 0xff]]),
        ));
    }
    let ext_refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
    let tbs_der = der::seq(&[
        &der::tlv(0xa0, &der::small_int(2)),
        &serial,
        &sig_alg,
        tbs.issuer,
        &der::seq(&[&utc("250101000000Z"), &utc("450101000000Z")]),
        tbs.subject,
        tbs.spki,
        &der::tlv(0xa3, &der::seq(&ext_refs)),
    ]);
    let signature = issuer_key.sign_message(&tbs_der, hash)?;
    Ok(der::seq(&[
        &tbs_der,
        &sig_alg,
        &der::tlv(0x03, &[&[0u8][..], &signature].concat()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::MlDsa;

    fn cert(name: &str, role: Role, serial: u64, algo: KeyAlgo, issuer: Option<&Issued>) -> Issued {
        let pkcs8 = key(7, name, algo).unwrap();
        issue(CertRequest {
            name,
            cn: &format!("trustbench {name}"),
            role,
            serial,
            skid: None,
            pkcs8: &pkcs8,
            algo,
            issuer,
        })
        .unwrap()
    }

    /// The hand-written certificate of `c` (issued by `issuer`, or self-signed): the same
    /// inputs as the rcgen path took, read back from `c`.
    fn by_hand(c: &Issued, role: Role, serial: u64, issuer: Option<&Issued>) -> Vec<u8> {
        let (_, x) = x509_parser::parse_x509_certificate(&c.der).unwrap();
        let spki = x.tbs_certificate.subject_pki.raw;
        let (iname, iskid, ikey, ialgo) = match issuer {
            Some(i) => (&i.subject_der, &i.signer.skid, &i.key, i.algo),
            None => (&c.subject_der, &c.signer.skid, &c.key, c.algo),
        };
        write_certificate(
            &Tbs {
                serial,
                issuer: iname,
                subject: &c.subject_der,
                spki,
                role,
                skid: &c.signer.skid,
                akid: iskid,
            },
            ikey,
            ialgo,
        )
        .unwrap()
    }

    fn tbs(der: &[u8]) -> Vec<u8> {
        let (_, x) = x509_parser::parse_x509_certificate(der).unwrap();
        x.tbs_certificate.as_ref().to_vec()
    }

    #[test]
    fn the_hand_written_certificate_is_what_rcgen_writes() {
        // RSA signatures are deterministic: the whole certificate is byte-identical.
        let root = cert("root", Role::Ca, 0x1001, KeyAlgo::Rsa(2048), None);
        assert!(root.rc.is_some());
        assert_eq!(by_hand(&root, Role::Ca, 0x1001, None), root.der);
        let leaf = cert("leaf", Role::Signer, 0x80, KeyAlgo::P256, Some(&root));
        assert!(leaf.rc.is_some());
        assert_eq!(by_hand(&leaf, Role::Signer, 0x80, Some(&root)), leaf.der);
        // ECDSA signatures are randomised: the TBS is identical, and both verify.
        let ca = cert("ca", Role::Ca, 0x1002, KeyAlgo::P384, None);
        let sub = cert("sub", Role::Ca, 0x1003, KeyAlgo::P256, Some(&ca));
        let hand = by_hand(&sub, Role::Ca, 0x1003, Some(&ca));
        assert_eq!(tbs(&hand), tbs(&sub.der));
        let (_, xca) = x509_parser::parse_x509_certificate(&ca.der).unwrap();
        let pk = xca
            .tbs_certificate
            .subject_pki
            .subject_public_key
            .data
            .to_vec();
        for der in [&hand, &sub.der] {
            let (_, x) = x509_parser::parse_x509_certificate(der).unwrap();
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
                &pk,
            )
            .verify(x.tbs_certificate.as_ref(), &x.signature_value.data)
            .unwrap();
        }
    }

    #[test]
    fn ml_dsa_certificates_are_written_by_hand_and_chain_both_ways() {
        let m = KeyAlgo::MlDsa(MlDsa::L44);
        let root = cert("mroot", Role::Ca, 0x1001, m, None);
        assert!(root.rc.is_none());
        // Deterministic: issuing again gives the same bytes.
        assert_eq!(cert("mroot", Role::Ca, 0x1001, m, None).der, root.der);
        // An RSA subject under an ML-DSA issuer, and below it an RSA leaf: hand-written
        // (no rcgen issuer), still the fields rcgen would write for it.
        let rsa_ca = cert("rca", Role::Ca, 0x1002, KeyAlgo::Rsa(2048), Some(&root));
        assert!(rsa_ca.rc.is_none());
        let rsa_leaf = cert(
            "rleaf",
            Role::Signer,
            0x1003,
            KeyAlgo::Rsa(2048),
            Some(&rsa_ca),
        );
        assert_eq!(
            by_hand(&rsa_leaf, Role::Signer, 0x1003, Some(&rsa_ca)),
            rsa_leaf.der
        );
        // An ML-DSA leaf under an rcgen-made RSA CA.
        let rroot = cert("rroot", Role::Ca, 0x1004, KeyAlgo::Rsa(2048), None);
        let mleaf = cert("mleaf", Role::Signer, 0x1005, m, Some(&rroot));
        let (_, x) = x509_parser::parse_x509_certificate(&mleaf.der).unwrap();
        assert_eq!(
            x.signature_algorithm.algorithm.to_id_string(),
            "1.2.840.113549.1.1.11"
        );
        assert_eq!(x.tbs_certificate.issuer.as_raw(), &rroot.subject_der[..]);
        let spki = &x.tbs_certificate.subject_pki;
        assert_eq!(
            spki.algorithm.algorithm.to_id_string(),
            "2.16.840.1.101.3.4.3.17"
        );
        assert!(spki.algorithm.parameters.is_none());
        assert_eq!(
            spki.subject_public_key.data.len(),
            MlDsa::L44.public_key_len()
        );
    }
}
