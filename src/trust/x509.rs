//! X.509 DER → [`AsymmetricKey`], deriving what the kernel derives (x509_cert_parser.c and
//! x509_public_key.c): ids, authority ids, extension flags with their decoding quirks, the
//! description string, the TBS digest with the blacklist check, and self-signedness.
//!
//! x509-parser walks the certificate structure and hands over raw octets; the
//! kernel-specific parts are decoded here from those octets, because a conforming decoder
//! would disagree with the kernel on exactly the inputs the edge cases are about (e.g. an
//! explicitly encoded `cA FALSE` still counts as a CA).

use super::key::{AsymmetricKey, AuthIds, CertSignature, KeyFlags, KeyIds};
use crate::asn1::{self, tag};
use crate::crypto::{Backend, CryptoProfile, Curve, Encoding, PkeyAlgo, PublicKey, SigAlgo};
use crate::errno::{Errno, KResult};
use crate::hash::{hex, Digest, HashAlgo};
use x509_parser::nom::Parser;
use x509_parser::prelude::{X509Certificate, X509CertificateParser};

/// What the parser needs from the rest of the system.
pub struct ParseEnv<'a> {
    pub profile: &'a CryptoProfile,
    pub backend: &'a dyn Backend,
    /// The `tbs:` blacklist: whether this TBS digest is listed.
    pub tbs_blacklisted: &'a dyn Fn(&Digest) -> bool,
}

/// A parsed certificate, before the keyring decides whether to admit it.
#[derive(Debug)]
pub struct ParsedCert {
    pub key: AsymmetricKey,
    /// TBS hash found in the blacklist: adding the key fails `EKEYREJECTED`.
    pub blacklisted: bool,
}

/// The kernel refuses blobs larger than this (`EMSGSIZE`).
pub const MAX_BLOB: usize = 65535;

const OID_CN: &str = "2.5.4.3";
const OID_O: &str = "2.5.4.10";
const OID_EMAIL: &str = "1.2.840.113549.1.9.1";
const OID_SKID: &str = "2.5.29.14";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_AKID: &str = "2.5.29.35";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// Certificate signature algorithms the kernel knows; anything else fails the whole parse
/// with `ENOPKG` (RSA-PSS, Ed25519, md5WithRSA, …).
pub fn cert_sig_algo(oid: &str) -> KResult<(SigAlgo, HashAlgo)> {
    use HashAlgo::*;
    Ok(match oid {
        "1.2.840.113549.1.1.5" => (SigAlgo::Rsa, Sha1),
        "1.2.840.113549.1.1.11" => (SigAlgo::Rsa, Sha256),
        "1.2.840.113549.1.1.12" => (SigAlgo::Rsa, Sha384),
        "1.2.840.113549.1.1.13" => (SigAlgo::Rsa, Sha512),
        "1.2.840.113549.1.1.14" => (SigAlgo::Rsa, Sha224),
        "2.16.840.1.101.3.4.3.14" => (SigAlgo::Rsa, Sha3_256),
        "2.16.840.1.101.3.4.3.15" => (SigAlgo::Rsa, Sha3_384),
        "2.16.840.1.101.3.4.3.16" => (SigAlgo::Rsa, Sha3_512),
        "1.2.840.10045.4.1" => (SigAlgo::Ecdsa, Sha1),
        "1.2.840.10045.4.3.1" => (SigAlgo::Ecdsa, Sha224),
        "1.2.840.10045.4.3.2" => (SigAlgo::Ecdsa, Sha256),
        "1.2.840.10045.4.3.3" => (SigAlgo::Ecdsa, Sha384),
        "1.2.840.10045.4.3.4" => (SigAlgo::Ecdsa, Sha512),
        "2.16.840.1.101.3.4.3.10" => (SigAlgo::Ecdsa, Sha3_256),
        "2.16.840.1.101.3.4.3.11" => (SigAlgo::Ecdsa, Sha3_384),
        "2.16.840.1.101.3.4.3.12" => (SigAlgo::Ecdsa, Sha3_512),
        _ => return Err(Errno::ENOPKG),
    })
}

/// Parses one DER certificate as `add_key("asymmetric", …)` would.
pub fn parse(der: &[u8], env: &ParseEnv<'_>) -> KResult<ParsedCert> {
    if der.len() > MAX_BLOB {
        return Err(Errno::EMSGSIZE);
    }
    // Outer framing with the kernel's own length rules. Bytes after the certificate are
    // ignored, as the kernel's decoder stops at the end of the top-level element (checked
    // against the live kernel).
    let outer = asn1::Reader::new(der).expect(tag::SEQUENCE)?;
    let mut parser = X509CertificateParser::new().with_deep_parse_extensions(false);
    let (_, cert) = parser.parse(outer.encoded).map_err(|_| Errno::EBADMSG)?;
    build(&cert, env)
}

fn build(cert: &X509Certificate<'_>, env: &ParseEnv<'_>) -> KResult<ParsedCert> {
    let tbs = &cert.tbs_certificate;

    // Signature algorithm: outer must be known, inner must be the same OID.
    let outer_oid = cert.signature_algorithm.algorithm.to_id_string();
    let (sig_algo, hash) = cert_sig_algo(&outer_oid)?;
    if tbs.signature.algorithm != cert.signature_algorithm.algorithm {
        return Err(Errno::EINVAL);
    }
    if cert.signature_value.unused_bits != 0 {
        return Err(Errno::EBADMSG);
    }

    // Public key.
    let spki = &tbs.subject_pki;
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let pkey_algo = match key_oid.as_str() {
        OID_RSA => PkeyAlgo::Rsa,
        OID_EC_PUBLIC_KEY => {
            let params = spki.algorithm.parameters.as_ref().ok_or(Errno::EBADMSG)?;
            if params.header.tag().0 != tag::OID as u32 {
                return Err(Errno::EBADMSG);
            }
            PkeyAlgo::Ecdsa(Curve::from_oid(params.data).ok_or(Errno::ENOPKG)?)
        }
        _ => return Err(Errno::ENOPKG),
    };
    if spki.subject_public_key.unused_bits != 0 {
        return Err(Errno::EBADMSG);
    }
    let public = PublicKey::new(pkey_algo, &spki.subject_public_key.data, env.backend);

    // Names and ids.
    let raw_serial = tbs.raw_serial();
    let issuer = asn1::contents_of(tbs.issuer.as_raw())?;
    let subject = asn1::contents_of(tbs.subject.as_raw())?;
    let mut ext = Extensions::default();
    for e in tbs.extensions() {
        ext.note(&e.oid.to_id_string(), e.value)?;
    }
    let mut auth_ids = match ext.akid {
        Some(raw) => parse_akid(raw)?,
        None => AuthIds::default(),
    };
    auth_ids.issuer = Some(issuer.into());
    let ids = KeyIds {
        id: [raw_serial, issuer].concat().into(),
        skid: ext.skid.map(Into::into),
        subject: subject.into(),
    };

    // Signature parameters: digest the TBS with the certificate's own hash, unless the
    // emulated kernel lacks that hash ("unsupported sig").
    let unsupported_sig = !env.profile.has_hash(hash);
    let mut blacklisted = false;
    let mut auth = None;
    if !unsupported_sig {
        let tbs_digest = hash.digest(tbs.as_ref())?;
        blacklisted = (env.tbs_blacklisted)(&tbs_digest);
        auth = Some(CertSignature {
            algo: sig_algo,
            encoding: match sig_algo {
                SigAlgo::Rsa => Encoding::Pkcs1,
                SigAlgo::Ecdsa => Encoding::X962,
            },
            hash,
            signature: cert.signature_value.data.as_ref().into(),
            tbs_digest,
            auth_ids: auth_ids.clone(),
        });
    }

    let mut key = AsymmetricKey {
        description: String::new(),
        fingerprint_tail: ext.skid.unwrap_or(raw_serial).into(),
        ids,
        auth,
        flags: ext.flags,
        public,
        self_signed: false,
    };
    key.self_signed = check_self_signed(&key, &auth_ids, issuer, subject, env.profile)?;
    key.description = format!(
        "{}: {}",
        fabricate_name(&tbs.subject),
        hex(&key.fingerprint_tail)
    );
    Ok(ParsedCert { key, blacklisted })
}

/// Extension payloads the kernel decodes by hand.
#[derive(Default)]
struct Extensions<'a> {
    skid: Option<&'a [u8]>,
    akid: Option<&'a [u8]>,
    flags: KeyFlags,
}

impl<'a> Extensions<'a> {
    fn note(&mut self, oid: &str, v: &'a [u8]) -> KResult<()> {
        match oid {
            OID_SKID => {
                if self.skid.is_some() || v.len() < 3 {
                    return Err(Errno::EBADMSG);
                }
                if v[0] != tag::OCTET_STRING || v[1] as usize != v.len() - 2 {
                    return Err(Errno::EBADMSG);
                }
                self.skid = Some(&v[2..]);
            }
            OID_KEY_USAGE => {
                if v.len() < 4 || v[0] != tag::BIT_STRING || v[2] >= 8 {
                    return Err(Errno::EBADMSG);
                }
                if v[3] & 0x80 != 0 {
                    self.flags.digital_signature = true;
                }
                if (v[1] == 2 && v[2] <= 2 && v[3] & 0x04 != 0)
                    || (v.len() > 4 && v[1] == 3 && v[3] & 0x04 != 0)
                {
                    self.flags.key_cert_sign = true;
                }
            }
            OID_BASIC_CONSTRAINTS => {
                if v.len() < 2 || v[0] != tag::SEQUENCE || v[1] as usize != v.len() - 2 {
                    return Err(Errno::EBADMSG);
                }
                // The kernel reads the BOOLEAN's length byte, not its value.
                if v.len() >= 4 && v[1] != 0 && v[2] == tag::BOOLEAN && v[3] == 1 {
                    self.flags.ca = true;
                }
            }
            OID_AKID => self.akid = Some(v),
            _ => {}
        }
        Ok(())
    }
}

/// `AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier, [1] GeneralNames, [2] serial }`
/// decoded as x509_akid.asn1 does: first keyIdentifier wins; serial+issuer only when a
/// directoryName was seen before the serial.
fn parse_akid(raw: &[u8]) -> KResult<AuthIds> {
    let seq = asn1::single(raw, tag::SEQUENCE)?;
    let mut r = asn1::Reader::new(seq.contents);
    let mut ids = AuthIds::default();
    let mut dir_name: Option<&[u8]> = None;
    while !r.is_empty() {
        let e = r.read()?;
        match e.tag {
            0x80 => {
                if ids.keyid.is_none() {
                    ids.keyid = Some(e.contents.into());
                }
            }
            0xa1 => {
                let mut names = asn1::Reader::new(e.contents);
                while !names.is_empty() {
                    let gn = names.read()?;
                    if gn.tag == 0xa4 {
                        let name = asn1::single(gn.contents, tag::SEQUENCE)?;
                        dir_name = Some(name.contents);
                    }
                }
            }
            0x82 => {
                if let (Some(name), None) = (dir_name, &ids.serial_issuer) {
                    ids.serial_issuer = Some([e.contents, name].concat().into());
                }
            }
            _ => return Err(Errno::EBADMSG),
        }
    }
    Ok(ids)
}

/// x509_check_for_self_signed: same raw subject and issuer; an AKID, if any, must name the
/// certificate itself (both parts present but only one matching fails the parse); then the
/// signature must verify with the certificate's own key, and anything but `ENOPKG` fails.
fn check_self_signed(
    key: &AsymmetricKey,
    auth_ids: &AuthIds,
    issuer: &[u8],
    subject: &[u8],
    profile: &CryptoProfile,
) -> KResult<bool> {
    if issuer != subject {
        return Ok(false);
    }
    if auth_ids.serial_issuer.is_some() || auth_ids.keyid.is_some() {
        let a = key.ids.skid.is_some() && key.ids.skid == auth_ids.keyid;
        let b = auth_ids.serial_issuer.as_deref() == Some(&*key.ids.id);
        if !a && !b {
            return Ok(false);
        }
        if a != b && auth_ids.serial_issuer.is_some() && auth_ids.keyid.is_some() {
            return Err(Errno::EKEYREJECTED);
        }
    }
    let Some(sig) = &key.auth else {
        return Ok(false);
    };
    match key.public.verify(&sig.record(), profile) {
        Ok(()) => Ok(true),
        Err(Errno::ENOPKG) => Ok(false),
        Err(e) => Err(e),
    }
}

/// x509_fabricate_name: CN alone when it starts with all of O (or their first 7 bytes
/// agree), "O: CN" when both exist otherwise, else CN, O or emailAddress. Raw bytes, last
/// occurrence of each attribute wins.
fn fabricate_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    let mut cn: Option<&[u8]> = None;
    let mut o: Option<&[u8]> = None;
    let mut email: Option<&[u8]> = None;
    for atv in name.iter_attributes() {
        let v = atv.attr_value().data;
        match atv.attr_type().to_id_string().as_str() {
            OID_CN => cn = Some(v),
            OID_O => o = Some(v),
            OID_EMAIL => email = Some(v),
            _ => {}
        }
    }
    let s = |b: &[u8]| {
        let b = b.split(|&c| c == 0).next().unwrap_or_default();
        String::from_utf8_lossy(b).into_owned()
    };
    match (cn, o) {
        (Some(cn), Some(o)) => {
            if (cn.len() >= o.len() && cn.starts_with(o))
                || (cn.len() >= 7 && o.len() >= 7 && cn[..7] == o[..7])
            {
                s(cn)
            } else {
                format!("{}: {}", s(o), s(cn))
            }
        }
        (Some(cn), None) => s(cn),
        (None, Some(o)) => s(o),
        (None, None) => email.map(s).unwrap_or_default(),
    }
}

/// Decodes a PEM certificate into DER; `None` if the text has no CERTIFICATE block. Used
/// by the CLI's `--trust`, never by `add` (the kernel takes DER only).
pub fn pem_to_der(text: &[u8]) -> Option<Vec<u8>> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(text).ok()?;
    (pem.label == "CERTIFICATE").then_some(pem.contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_constraints_reads_the_length_byte() {
        let mut e = Extensions::default();
        // SEQUENCE { BOOLEAN FALSE } encoded explicitly (non-DER): still a CA.
        e.note(OID_BASIC_CONSTRAINTS, &[0x30, 0x03, 0x01, 0x01, 0x00])
            .unwrap();
        assert!(e.flags.ca);
        let mut e = Extensions::default();
        e.note(OID_BASIC_CONSTRAINTS, &[0x30, 0x00]).unwrap();
        assert!(!e.flags.ca);
        assert_eq!(
            Extensions::default().note(OID_BASIC_CONSTRAINTS, &[0x30, 0x05, 1]),
            Err(Errno::EBADMSG)
        );
    }

    #[test]
    fn key_usage_quirks() {
        let mut e = Extensions::default();
        // digitalSignature | keyCertSign, 1 byte, 2 unused bits.
        e.note(OID_KEY_USAGE, &[0x03, 0x02, 0x02, 0x84]).unwrap();
        assert!(e.flags.digital_signature && e.flags.key_cert_sign);
        let mut e = Extensions::default();
        // 1 byte with 3 unused bits: keyCertSign not recognised.
        e.note(OID_KEY_USAGE, &[0x03, 0x02, 0x03, 0x84]).unwrap();
        assert!(e.flags.digital_signature && !e.flags.key_cert_sign);
        let mut e = Extensions::default();
        e.note(OID_KEY_USAGE, &[0x03, 0x03, 0x07, 0x04, 0x80])
            .unwrap();
        assert!(e.flags.key_cert_sign);
        assert_eq!(
            Extensions::default().note(OID_KEY_USAGE, &[0x03, 0x02, 0x08, 0x80]),
            Err(Errno::EBADMSG)
        );
    }

    #[test]
    fn skid_rules() {
        let mut e = Extensions::default();
        e.note(OID_SKID, &[0x04, 0x02, 0xab, 0xcd]).unwrap();
        assert_eq!(e.skid, Some(&[0xab, 0xcd][..]));
        assert_eq!(e.note(OID_SKID, &[0x04, 0x01, 0xab]), Err(Errno::EBADMSG));
        assert_eq!(
            Extensions::default().note(OID_SKID, &[0x04, 0x05, 0xab, 0xcd]),
            Err(Errno::EBADMSG)
        );
    }

    #[test]
    fn akid_parts() {
        // keyid 0102, directoryName SEQUENCE{} with contents "x", serial 05
        let akid = [
            0x30, 0x0e, 0x80, 0x02, 0x01, 0x02, 0xa1, 0x05, 0xa4, 0x03, 0x30, 0x01, b'x', 0x82,
            0x01, 0x05,
        ];
        let ids = parse_akid(&akid).unwrap();
        assert_eq!(ids.keyid.as_deref(), Some(&[1, 2][..]));
        assert_eq!(ids.serial_issuer.as_deref(), Some(&[5, b'x'][..]));
        assert!(parse_akid(&[0x30, 0x02, 0x99, 0x00]).is_err());
    }
}
