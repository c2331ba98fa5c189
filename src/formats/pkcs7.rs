//! PKCS#7 / CMS SignedData, parsed the way crypto/asymmetric_keys/pkcs7_parser.c and its
//! grammar (pkcs7.asn1) do, with the kernel's parse-time errnos:
//! non-SignedData or an unsupported version `EINVAL`; unknown digest or signature
//! algorithm `ENOPKG`; content type neither id-data nor Authenticode `EINVAL`;
//! signerInfo/SignedData version mismatch `EBADMSG`; authenticated attributes checked one
//! by one as the decoder meets them (repeats `EKEYREJECTED`, a contentType attribute that
//! differs `EBADMSG`, Authenticode-only attributes outside Authenticode `EKEYREJECTED`,
//! then contentType and messageDigest required `EBADMSG`); authenticated attributes on some
//! signerInfos only, or no signerInfo at all, `EINVAL`; empty SET OF lists `EBADMSG`;
//! messages over 65535 bytes `EMSGSIZE`; bytes after the message ignored.
//!
//! Zero-copy: every field is a view into the message, and signerInfos are validated once at
//! parse time and re-walked on demand rather than collected, so parsing a module signature
//! allocates nothing.

use crate::algo::{Encoding, SigAlgo};
use crate::asn1::{self, tag, Element, Reader};
use crate::errno::{Errno, KResult};
use crate::hash::HashAlgo;
use crate::oid;

/// `digestEncryptionAlgorithm` OIDs the kernel accepts: rsaEncryption, ecdsa-with-*.
fn signature_algo(oid: &[u8]) -> KResult<(SigAlgo, Encoding)> {
    if oid == oid::RSA_ENCRYPTION {
        return Ok((SigAlgo::Rsa, Encoding::Pkcs1));
    }
    let ecdsa = oid == oid::ECDSA_SHA1
        || oid::last_under(oid, oid::ECDSA_SHA2).is_some_and(|n| (1..=4).contains(&n))
        || oid::last_under(oid, oid::NIST_SIGALGS).is_some_and(|n| (9..=12).contains(&n));
    if ecdsa {
        Ok((SigAlgo::Ecdsa, Encoding::X962))
    } else {
        Err(Errno::ENOPKG)
    }
}

/// The content type of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Data,
    /// Authenticode (`msIndirectData`).
    MsIndirectData,
}

/// How a signerInfo names its signer. The kernel takes the form from the signerInfo
/// version (v1: issuer+serial, v3: SKID) and builds the id from whatever the message gave
/// for that form — an empty id when the other form was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignerId<'a> {
    pub expect_skid: bool,
    pub issuer: Option<&'a [u8]>,
    pub serial: Option<&'a [u8]>,
    pub skid: Option<&'a [u8]>,
}

impl SignerId<'_> {
    /// Writes `auth_ids[0]` into `buf` (no allocation for ids up to the buffer's size).
    pub fn auth_id0<'b>(&self, buf: &'b mut [u8], spill: &'b mut Vec<u8>) -> &'b [u8] {
        let (a, b): (&[u8], &[u8]) = if self.expect_skid {
            (self.skid.unwrap_or_default(), &[])
        } else {
            (
                self.serial.unwrap_or_default(),
                self.issuer.unwrap_or_default(),
            )
        };
        let n = a.len() + b.len();
        if n <= buf.len() {
            buf[..a.len()].copy_from_slice(a);
            buf[a.len()..n].copy_from_slice(b);
            &buf[..n]
        } else {
            spill.clear();
            spill.extend_from_slice(a);
            spill.extend_from_slice(b);
            spill
        }
    }
}

/// Authenticated attributes the kernel tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthAttrs<'a> {
    /// The attribute list encoding, tag included (hashed with the tag replaced by SET).
    pub encoded: &'a [u8],
    pub message_digest: &'a [u8],
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
    pub data_type: DataType,
    /// The message embeds its content (not detached).
    pub embedded_content: Option<&'a [u8]>,
    /// Concatenated certificate encodings (the list contents), possibly empty.
    certs: &'a [u8],
    /// The signerInfos list contents.
    signer_infos: &'a [u8],
    pub have_authattrs: bool,
}

fn small_int(e: Element<'_>) -> KResult<u8> {
    match e.contents {
        [v] => Ok(*v),
        _ => Err(Errno::EINVAL),
    }
}

/// `CHOICE { SET OF X, SEQUENCE OF X }` with at least one element: the list contents.
fn set_or_sequence_of(e: Element<'_>) -> KResult<&[u8]> {
    if (e.tag != tag::SET && e.tag != tag::SEQUENCE) || e.contents.is_empty() {
        return Err(Errno::EBADMSG);
    }
    Ok(e.contents)
}

/// `SEQUENCE { OID, ANY OPTIONAL }`: the OID contents.
fn alg_oid(e: Element<'_>) -> KResult<&[u8]> {
    if e.tag != tag::SEQUENCE {
        return Err(Errno::EBADMSG);
    }
    let mut r = Reader::new(e.contents);
    let oid = r.expect_tag(tag::OID)?.contents;
    if !r.is_empty() {
        r.read()?;
    }
    if !r.is_empty() {
        return Err(Errno::EBADMSG);
    }
    Ok(oid)
}

impl<'a> Pkcs7<'a> {
    /// Parses a DER message; each embedded certificate is handed to `cert` in document
    /// order (the kernel parses them during message parsing, so their errors come first).
    pub fn parse_with(
        der: &'a [u8],
        cert: &mut dyn FnMut(&'a [u8]) -> KResult<()>,
    ) -> KResult<Pkcs7<'a>> {
        if der.len() > 65535 {
            return Err(Errno::EMSGSIZE);
        }
        let ci = Reader::new(der).expect_tag(tag::SEQUENCE)?;
        let mut r = Reader::new(ci.contents);
        if r.expect_tag(tag::OID)?.contents != oid::SIGNED_DATA {
            return Err(Errno::EINVAL);
        }
        let Some(explicit) = r.optional(0xa0)? else {
            // Decodes, but there is no signerInfo: pkcs7_check_authattrs refuses it.
            return if r.is_empty() {
                Err(Errno::EINVAL)
            } else {
                Err(Errno::EBADMSG)
            };
        };
        if !r.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let sd = asn1::single(explicit.contents, tag::SEQUENCE)?;
        let mut r = Reader::new(sd.contents);
        let version = small_int(r.expect_tag(tag::INTEGER)?)?;
        if version != 1 && version != 3 {
            return Err(Errno::EINVAL);
        }
        let mut algs = Reader::new(set_or_sequence_of(r.read()?)?);
        while !algs.is_empty() {
            alg_oid(algs.read()?)?;
        }
        let eci = r.expect_tag(tag::SEQUENCE)?;
        let mut er = Reader::new(eci.contents);
        let data_type = match er.expect_tag(tag::OID)?.contents {
            oid::DATA => DataType::Data,
            oid::MS_INDIRECT_DATA => DataType::MsIndirectData,
            _ => return Err(Errno::EINVAL),
        };
        let embedded_content = er.optional(0xa0)?.map(|e| e.contents);
        if !er.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let certs = match r.optional(0xa0)? {
            Some(e) => e.contents,
            None => r.optional(0xa2)?.map_or(&[][..], |e| e.contents),
        };
        let mut cr = Reader::new(certs);
        while !cr.is_empty() {
            // CHOICE { Certificate, [0] IMPLICIT ExtendedCertificate (ignored) }.
            let c = cr.read()?;
            match c.tag {
                tag::SEQUENCE => cert(c.encoded)?,
                0xa0 => {}
                _ => return Err(Errno::EBADMSG),
            }
        }
        if r.optional(0xa1)?.is_none() {
            r.optional(0xa3)?;
        }
        let signer_infos = set_or_sequence_of(r.read()?)?;
        if !r.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let mut msg = Pkcs7 {
            version,
            data_type,
            embedded_content,
            certs,
            signer_infos,
            have_authattrs: false,
        };
        let mut first = None;
        let mut consistent = true;
        for s in msg.signers() {
            let has = s?.auth_attrs.is_some();
            match first {
                None => first = Some(has),
                Some(f) => consistent &= f == has,
            }
        }
        if !consistent {
            return Err(Errno::EINVAL);
        }
        msg.have_authattrs = first.unwrap_or(false);
        Ok(msg)
    }

    /// Parses a message, ignoring embedded certificates' contents.
    pub fn parse(der: &'a [u8]) -> KResult<Pkcs7<'a>> {
        Pkcs7::parse_with(der, &mut |_| Ok(()))
    }

    /// The signerInfos, in message order.
    pub fn signers(&self) -> impl Iterator<Item = KResult<SignerInfo<'a>>> + '_ {
        let mut r = Reader::new(self.signer_infos);
        let (version, data_type) = (self.version, self.data_type);
        std::iter::from_fn(move || {
            if r.is_empty() {
                return None;
            }
            Some(
                r.expect_tag(tag::SEQUENCE)
                    .and_then(|e| parse_signer(e.contents, version, data_type)),
            )
        })
    }

    /// Embedded certificate encodings.
    pub fn certificates(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut r = Reader::new(self.certs);
        std::iter::from_fn(move || loop {
            let e = r.read().ok()?;
            if e.tag == tag::SEQUENCE {
                return Some(e.encoded);
            }
        })
    }
}

fn parse_signer(body: &[u8], msg_version: u8, data_type: DataType) -> KResult<SignerInfo<'_>> {
    let mut r = Reader::new(body);
    let expect_skid = match small_int(r.expect_tag(tag::INTEGER)?)? {
        1 if msg_version == 1 => false,
        3 if msg_version != 1 => true,
        1 | 3 => return Err(Errno::EBADMSG),
        _ => return Err(Errno::EINVAL),
    };
    let mut sid = SignerId {
        expect_skid,
        issuer: None,
        serial: None,
        skid: None,
    };
    let sid_el = r.read()?;
    match sid_el.tag {
        tag::SEQUENCE => {
            let mut ir = Reader::new(sid_el.contents);
            sid.issuer = Some(ir.expect_tag(tag::SEQUENCE)?.contents);
            sid.serial = Some(ir.expect_tag(tag::INTEGER)?.contents);
            if !ir.is_empty() {
                return Err(Errno::EBADMSG);
            }
        }
        0x80 => sid.skid = Some(sid_el.contents),
        _ => return Err(Errno::EBADMSG),
    }
    let digest = HashAlgo::from_pkcs7_oid(alg_oid(r.read()?)?)?;
    let auth_attrs = match r.optional(0xa0)? {
        Some(e) => {
            if e.contents.is_empty() {
                return Err(Errno::EBADMSG);
            }
            Some(parse_auth_attrs(e.encoded, e.contents, data_type)?)
        }
        None => match r.optional(0xa2)? {
            Some(e) => {
                let list = asn1::single(e.contents, tag::SEQUENCE)?;
                if list.contents.is_empty() {
                    return Err(Errno::EBADMSG);
                }
                Some(parse_auth_attrs(e.encoded, list.contents, data_type)?)
            }
            None => None,
        },
    };
    let (algo, encoding) = signature_algo(alg_oid(r.read()?)?)?;
    let signature = r.expect_tag(tag::OCTET_STRING)?.contents;
    if r.optional(0xa1)?.is_none() {
        r.optional(0xa3)?;
    }
    if !r.is_empty() {
        return Err(Errno::EBADMSG);
    }
    if data_type == DataType::MsIndirectData && auth_attrs.is_none() {
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

/// pkcs7_sig_note_authenticated_attr for every value in order, then the end-of-list
/// checks of pkcs7_sig_note_set_of_authattrs.
fn parse_auth_attrs<'a>(
    encoded: &'a [u8],
    list: &'a [u8],
    data_type: DataType,
) -> KResult<AuthAttrs<'a>> {
    let mut r = Reader::new(list);
    let (mut ct, mut md, mut st) = (false, None, None);
    let (mut caps, mut opus, mut stmt) = (false, false, false);
    while !r.is_empty() {
        let attr = r.expect_tag(tag::SEQUENCE)?;
        let mut ar = Reader::new(attr.contents);
        let oid = ar.expect_tag(tag::OID)?.contents;
        let values = ar.expect_tag(tag::SET)?;
        if !ar.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let mut vr = Reader::new(values.contents);
        if vr.is_empty() {
            return Err(Errno::EBADMSG);
        }
        while !vr.is_empty() {
            let v = vr.read()?;
            let once = |seen: &mut bool| {
                if std::mem::replace(seen, true) {
                    Err(Errno::EKEYREJECTED)
                } else {
                    Ok(())
                }
            };
            match oid {
                oid::CONTENT_TYPE => {
                    once(&mut ct)?;
                    let same = match data_type {
                        DataType::Data => v.contents == oid::DATA,
                        DataType::MsIndirectData => v.contents == oid::MS_INDIRECT_DATA,
                    };
                    if !same {
                        return Err(Errno::EBADMSG);
                    }
                }
                oid::SIGNING_TIME => {
                    if st.is_some() {
                        return Err(Errno::EKEYREJECTED);
                    }
                    asn1::decode_time(v)?;
                    st = Some(v.contents);
                }
                oid::MESSAGE_DIGEST => {
                    if md.is_some() {
                        return Err(Errno::EKEYREJECTED);
                    }
                    if v.tag != tag::OCTET_STRING {
                        return Err(Errno::EBADMSG);
                    }
                    md = Some(v.contents);
                }
                oid::SMIME_CAPS => {
                    once(&mut caps)?;
                    if data_type != DataType::MsIndirectData {
                        return Err(Errno::EKEYREJECTED);
                    }
                }
                oid::MS_SP_OPUS_INFO | oid::MS_STATEMENT_TYPE => {
                    once(if oid == oid::MS_SP_OPUS_INFO {
                        &mut opus
                    } else {
                        &mut stmt
                    })?;
                    if data_type != DataType::MsIndirectData {
                        return Err(Errno::EKEYREJECTED);
                    }
                }
                _ => {}
            }
        }
    }
    match (ct, md) {
        (true, Some(message_digest)) => Ok(AuthAttrs {
            encoded,
            message_digest,
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
        v.extend_from_slice(oid::DATA);
        assert_eq!(Pkcs7::parse(&v).unwrap_err(), Errno::EINVAL);
        // ContentInfo { signedData } without content: no signerInfo.
        let mut v = vec![0x30, 0x0b, 0x06, 0x09];
        v.extend_from_slice(oid::SIGNED_DATA);
        assert_eq!(Pkcs7::parse(&v).unwrap_err(), Errno::EINVAL);
        assert_eq!(Pkcs7::parse(&[0x30]).unwrap_err(), Errno::EBADMSG);
        assert_eq!(Pkcs7::parse(&[]).unwrap_err(), Errno::EBADMSG);
        assert_eq!(
            Pkcs7::parse(&vec![0u8; 70000]).unwrap_err(),
            Errno::EMSGSIZE
        );
    }

    #[test]
    fn signature_algorithms() {
        assert!(signature_algo(oid::RSA_ENCRYPTION).is_ok());
        assert_eq!(
            signature_algo(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])
                .unwrap()
                .0,
            SigAlgo::Ecdsa
        );
        // sha256WithRSAEncryption is not accepted in a signerInfo.
        assert_eq!(signature_algo(oid::SHA256_WITH_RSA), Err(Errno::ENOPKG));
    }

    #[test]
    fn signer_id_follows_the_version() {
        let sid = SignerId {
            expect_skid: true,
            issuer: Some(b"I"),
            serial: Some(b"S"),
            skid: None,
        };
        let (mut b, mut s) = ([0u8; 8], Vec::new());
        assert_eq!(sid.auth_id0(&mut b, &mut s), b"");
        let sid = SignerId {
            expect_skid: false,
            ..sid
        };
        let (mut b, mut s) = ([0u8; 8], Vec::new());
        assert_eq!(sid.auth_id0(&mut b, &mut s), b"SI");
    }
}
