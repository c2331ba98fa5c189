//! PKCS#7 / CMS SignedData, parsed the way crypto/asymmetric_keys/pkcs7_parser.c does.
//!
//! Zero-copy: every field is a view into the message, and signerInfos are validated once at
//! parse time and re-walked on demand rather than collected, so parsing a module signature
//! allocates nothing. The kernel's parse-time rules are applied here with its errnos
//! (non-SignedData `EINVAL`, unknown digest or signature algorithm `ENOPKG`, version
//! mismatches `EBADMSG`, missing or repeated authenticated attributes).

use crate::asn1::{self, tag, Element, Reader};
use crate::crypto::{Encoding, SigAlgo};
use crate::errno::{Errno, KResult};
use crate::hash::HashAlgo;

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];

/// `digestEncryptionAlgorithm` OIDs the kernel accepts: rsaEncryption, ecdsa-with-*.
fn signature_algo(oid: &[u8]) -> KResult<(SigAlgo, Encoding)> {
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA_SHA2_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    const SIG_ALGS_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03];
    if oid == OID_RSA_ENCRYPTION {
        return Ok((SigAlgo::Rsa, Encoding::Pkcs1));
    }
    let ecdsa = oid == ECDSA_SHA1
        || (oid.len() == 8 && oid.starts_with(ECDSA_SHA2_PREFIX) && (1..=4).contains(&oid[7]))
        || (oid.len() == 9 && oid.starts_with(SIG_ALGS_PREFIX) && (9..=12).contains(&oid[8]));
    if ecdsa {
        Ok((SigAlgo::Ecdsa, Encoding::X962))
    } else {
        Err(Errno::ENOPKG)
    }
}

/// How a signerInfo names its signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerId<'a> {
    /// IssuerAndSerialNumber: `auth_ids[0]` = serial contents ‖ issuer Name contents.
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    /// subjectKeyIdentifier (sign-file `-k`): `auth_ids[0]` = the SKID.
    Skid(&'a [u8]),
}

impl SignerId<'_> {
    /// Writes `auth_ids[0]` into `buf` (no allocation for ids up to the buffer's size).
    pub fn auth_id0<'b>(&self, buf: &'b mut [u8], spill: &'b mut Vec<u8>) -> &'b [u8] {
        match *self {
            SignerId::Skid(s) => {
                spill.clear();
                spill.extend_from_slice(s);
                spill
            }
            SignerId::IssuerSerial { issuer, serial } => {
                let n = serial.len() + issuer.len();
                if n <= buf.len() {
                    buf[..serial.len()].copy_from_slice(serial);
                    buf[serial.len()..n].copy_from_slice(issuer);
                    &buf[..n]
                } else {
                    spill.clear();
                    spill.extend_from_slice(serial);
                    spill.extend_from_slice(issuer);
                    spill
                }
            }
        }
    }
}

/// Authenticated attributes the kernel tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthAttrs<'a> {
    /// The SET OF Attribute encoding, tag included (re-tagged to 0x31 when hashed).
    pub encoded: &'a [u8],
    pub message_digest: &'a [u8],
    pub content_type: &'a [u8],
    pub signing_time: Option<&'a [u8]>,
}

/// One signerInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignerInfo<'a> {
    pub sid: SignerId<'a>,
    pub digest: HashAlgo,
    pub algo: SigAlgo,
    pub encoding: Encoding,
    pub auth_attrs: Option<AuthAttrs<'a>>,
    pub signature: &'a [u8],
}

/// A parsed SignedData message.
#[derive(Clone, Copy, Debug)]
pub struct Pkcs7<'a> {
    pub version: u8,
    /// encapContentInfo type is id-data.
    pub data_is_id_data: bool,
    /// The message embeds its content (not detached).
    pub embedded_content: Option<&'a [u8]>,
    /// Concatenated certificate encodings (the SET contents), possibly empty.
    certs: &'a [u8],
    /// The signerInfos SET contents.
    signer_infos: &'a [u8],
    pub have_authattrs: bool,
}

fn small_int(e: Element<'_>) -> KResult<u8> {
    match e.contents {
        [v] => Ok(*v),
        _ => Err(Errno::EINVAL),
    }
}

impl<'a> Pkcs7<'a> {
    /// Parses a DER message.
    pub fn parse(der: &'a [u8]) -> KResult<Pkcs7<'a>> {
        let ci = asn1::single(der, tag::SEQUENCE)?;
        let mut r = Reader::new(ci.contents);
        let ct = r.expect(tag::OID)?;
        if ct.contents != OID_SIGNED_DATA {
            return Err(Errno::EINVAL);
        }
        let explicit = r.expect(0xa0)?;
        if !r.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let sd = asn1::single(explicit.contents, tag::SEQUENCE)?;
        let mut r = Reader::new(sd.contents);
        let version = small_int(r.expect(tag::INTEGER)?)?;
        if version != 1 && version != 3 {
            return Err(Errno::EINVAL);
        }
        r.expect(tag::SET)?; // digestAlgorithms: not used by the kernel
        let eci = r.expect(tag::SEQUENCE)?;
        let mut er = Reader::new(eci.contents);
        let etype = er.expect(tag::OID)?;
        let embedded_content = er.optional(0xa0)?.map(|e| e.contents);
        if !er.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let certs = match r.optional(0xa0)? {
            Some(e) => e.contents,
            None => match r.optional(0xa2)? {
                Some(e) => e.contents,
                None => &[],
            },
        };
        r.optional(0xa1)?; // crls: ignored
        let si = r.expect(tag::SET)?;
        if !r.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let mut msg = Pkcs7 {
            version,
            data_is_id_data: etype.contents == OID_DATA,
            embedded_content,
            certs,
            signer_infos: si.contents,
            have_authattrs: false,
        };
        let mut cr = Reader::new(certs);
        while !cr.is_empty() {
            cr.expect(tag::SEQUENCE)?;
        }
        let mut any_attrs = false;
        for s in msg.signers() {
            any_attrs |= s?.auth_attrs.is_some();
        }
        msg.have_authattrs = any_attrs;
        Ok(msg)
    }

    /// The signerInfos, in message order.
    pub fn signers(&self) -> impl Iterator<Item = KResult<SignerInfo<'a>>> + '_ {
        let mut r = Reader::new(self.signer_infos);
        let version = self.version;
        std::iter::from_fn(move || {
            if r.is_empty() {
                return None;
            }
            Some(
                r.expect(tag::SEQUENCE)
                    .and_then(|e| parse_signer(e.contents, version)),
            )
        })
    }

    /// Embedded certificate encodings.
    pub fn certificates(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut r = Reader::new(self.certs);
        std::iter::from_fn(move || r.read().ok().map(|e| e.encoded))
    }
}

fn parse_signer(body: &[u8], msg_version: u8) -> KResult<SignerInfo<'_>> {
    let mut r = Reader::new(body);
    let version = small_int(r.expect(tag::INTEGER)?)?;
    let expect_skid = match version {
        1 if msg_version == 1 => false,
        3 if msg_version != 1 => true,
        1 | 3 => return Err(Errno::EBADMSG),
        _ => return Err(Errno::EINVAL),
    };
    let sid_el = r.read()?;
    let sid = match (sid_el.tag, expect_skid) {
        (tag::SEQUENCE, false) => {
            let mut ir = Reader::new(sid_el.contents);
            let issuer = ir.expect(tag::SEQUENCE)?.contents;
            let serial = ir.expect(tag::INTEGER)?.contents;
            SignerId::IssuerSerial { issuer, serial }
        }
        (0x80, true) => SignerId::Skid(sid_el.contents),
        _ => return Err(Errno::EBADMSG),
    };
    let dalg = r.expect(tag::SEQUENCE)?;
    let doid = Reader::new(dalg.contents).expect(tag::OID)?;
    let digest = HashAlgo::from_pkcs7_oid(doid.contents)?;
    let auth_attrs = match r.optional(0xa0)? {
        Some(e) => Some(parse_auth_attrs(e)?),
        None => None,
    };
    let salg = r.expect(tag::SEQUENCE)?;
    let soid = Reader::new(salg.contents).expect(tag::OID)?;
    let (algo, encoding) = signature_algo(soid.contents)?;
    let signature = r.expect(tag::OCTET_STRING)?.contents;
    r.optional(0xa1)?;
    if !r.is_empty() {
        return Err(Errno::EBADMSG);
    }
    Ok(SignerInfo {
        sid,
        digest,
        algo,
        encoding,
        auth_attrs,
        signature,
    })
}

fn parse_auth_attrs(set: Element<'_>) -> KResult<AuthAttrs<'_>> {
    let mut r = Reader::new(set.contents);
    let (mut md, mut ct, mut st) = (None, None, None);
    while !r.is_empty() {
        let attr = r.expect(tag::SEQUENCE)?;
        let mut ar = Reader::new(attr.contents);
        let oid = ar.expect(tag::OID)?.contents;
        let values = ar.expect(tag::SET)?;
        let slot = match oid {
            OID_CONTENT_TYPE => &mut ct,
            OID_MESSAGE_DIGEST => &mut md,
            OID_SIGNING_TIME => &mut st,
            _ => continue,
        };
        let mut vr = Reader::new(values.contents);
        let v = vr.read()?;
        if slot.is_some() || !vr.is_empty() {
            return Err(Errno::EKEYREJECTED);
        }
        *slot = Some(v.contents);
    }
    match (md, ct) {
        (Some(message_digest), Some(content_type)) => Ok(AuthAttrs {
            encoded: set.encoded,
            message_digest,
            content_type,
            signing_time: st,
        }),
        _ => Err(Errno::EBADMSG),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_signed_data() {
        // ContentInfo { id-data }
        let mut v = vec![0x30, 0x0b, 0x06, 0x09];
        v.extend_from_slice(OID_DATA);
        assert_eq!(Pkcs7::parse(&v).unwrap_err(), Errno::EINVAL);
        assert_eq!(Pkcs7::parse(&[0x30]).unwrap_err(), Errno::EBADMSG);
        assert_eq!(Pkcs7::parse(&[]).unwrap_err(), Errno::EBADMSG);
    }

    #[test]
    fn signature_algorithms() {
        assert!(signature_algo(OID_RSA_ENCRYPTION).is_ok());
        assert_eq!(
            signature_algo(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])
                .unwrap()
                .0,
            SigAlgo::Ecdsa
        );
        // sha256WithRSAEncryption is not accepted in a signerInfo.
        assert_eq!(
            signature_algo(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]),
            Err(Errno::ENOPKG)
        );
    }
}
