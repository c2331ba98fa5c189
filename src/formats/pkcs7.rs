//! PKCS#7 / CMS SignedData, parsed the way crypto/asymmetric_keys/pkcs7_parser.c and its
//! grammar (pkcs7.asn1) do.
//!
//! The kernel's decoder (lib/asn1_decoder.c) makes one pass over the DER and calls the
//! grammar's actions as it meets them; the first failure ends the parse. So the errno of a
//! message with several defects is decided by whichever defect comes first in that walk,
//! and this parser walks in the same order:
//!
//! * an element's header (tag, length that fits its parent) is checked when the element is
//!   reached: `EBADMSG`;
//! * an action on a primitive element runs at once; an action on a constructed element runs
//!   at its end, after everything inside it was decoded and after the check that nothing
//!   follows its last member (`EBADMSG`): for example the content type of the inner
//!   ContentInfo is judged (`EINVAL`) only after its `[0]` content decoded, and bytes after
//!   the signerInfos are found only after every signerInfo's actions ran;
//! * every SET OF / SEQUENCE OF needs one element at least (`EBADMSG`), except the
//!   certificate `[0]` set, whose element is a CHOICE that may be skipped.
//!
//! Parse-time errnos: content type of the outer ContentInfo not signedData, SignedData or
//! signerInfo version unsupported, inner content type neither id-data nor Authenticode:
//! `EINVAL`; signerInfo/SignedData version mismatch `EBADMSG`; digest or signature algorithm
//! the kernel has no name for `ENOPKG`; certificates (including those inside the CRL
//! fields, which the grammar hands to the same action) must be SEQUENCEs (`EBADMSG`) and
//! parse as X.509 (that parser's errno); authenticated attributes are judged one value at a
//! time (repeats `EKEYREJECTED`, a contentType that differs `EBADMSG`, S/MIME capabilities
//! or Authenticode attributes outside Authenticode `EKEYREJECTED`, a signingTime that does
//! not decode `EBADMSG`), then, for the `[0] IMPLICIT SET` form only, contentType and
//! messageDigest are required (`EBADMSG`); Authenticode without that form `EBADMSG`; after
//! the decode, no signerInfo or the `[0]` attributes on some signerInfos only `EINVAL`;
//! messages over 65535 bytes `EMSGSIZE`; bytes after the message are ignored.
//!
//! The `[2] EXPLICIT SEQUENCE OF` form of authenticatedAttributes has no action of its own
//! in the grammar: its attributes go through the per-value checks, but the signerInfo then
//! counts as having no authenticated attributes (nothing required, not hashed, no usage
//! rule), and only a signingTime among them is remembered.
//!
//! Zero-copy: every field is a view into the message, and signerInfos are validated once at
//! parse time and re-walked on demand rather than collected, so parsing a module signature
//! allocates nothing.

use crate::algo::{Encoding, MlDsa, SigAlgo};
use crate::asn1::{self, tag, Element, Reader};
use crate::errno::{Errno, KResult};
use crate::hash::HashAlgo;
use crate::kernel_profile::Rules;
use crate::oid;

/// `digestEncryptionAlgorithm` OIDs the kernel accepts (pkcs7_sig_note_pkey_algo):
/// rsaEncryption, ecdsa-with-SHA1/SHA-2/SHA-3 (no SHA3-224: the kernel's OID registry has
/// none), GOST 2012, and from 7.0 id-ml-dsa-44/65/87 (`rules.mldsa`; parameters
/// ignored); anything else `ENOPKG`.
fn signature_algo(oid: &[u8], rules: &Rules) -> KResult<(SigAlgo, Encoding)> {
    if let Some(l) = MlDsa::from_oid(oid).filter(|_| rules.mldsa) {
        return Ok((SigAlgo::MlDsa(l), Encoding::Raw));
    }
    if oid == oid::RSA_ENCRYPTION {
        return Ok((SigAlgo::Rsa, Encoding::Pkcs1));
    }
    let ecdsa = oid == oid::ECDSA_SHA1
        || oid::last_under(oid, oid::ECDSA_SHA2).is_some_and(|n| (1..=4).contains(&n))
        || oid::last_under(oid, oid::NIST_SIGALGS).is_some_and(|n| (10..=12).contains(&n));
    if ecdsa {
        Ok((SigAlgo::Ecdsa, Encoding::X962))
    } else if oid == oid::GOST2012_PKEY256 || oid == oid::GOST2012_PKEY512 {
        Ok((SigAlgo::Ecrdsa, Encoding::Raw))
    } else {
        Err(Errno::ENOPKG)
    }
}

/// The largest message the kernel decodes: `asn1_ber_decoder` refuses more than 65535
/// bytes with `EMSGSIZE` before it looks at a byte (its constructed-element stack holds
/// 16-bit offsets). The kernel's own limit, so it is this parser's: it bounds everything
/// per message (signerInfos, embedded certificates, chain length, nesting), and a larger
/// message is an `EMSGSIZE` verdict whose reason names this budget.
pub const MAX_MESSAGE: usize = 65535;

/// The content type of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Data,
    /// Authenticode (`msIndirectData`).
    MsIndirectData,
}

/// Where the grammar met a certificate. Both lists go through pkcs7_extract_cert (so both
/// are parsed, and their errors fail the message), but only the `certificates` field is
/// kept for pkcs7_find_key and the chain checks; certificates met inside the CRL fields are
/// parsed and dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertOrigin {
    Certificates,
    Crls,
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

/// Authenticated attributes the kernel tracks (the `[0] IMPLICIT SET` form).
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
    /// `Some` only for the `[0] IMPLICIT SET` form (the kernel's `sinfo->authattrs`).
    pub auth_attrs: Option<AuthAttrs<'a>>,
    /// A signingTime attribute in either attribute form, decoded (seconds since the
    /// epoch): pkcs7_verify_one compares it with an embedded signer's validity.
    pub signing_time: Option<i64>,
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
    /// The first signerInfo's algorithm is ML-DSA: the only one the signed-attributes
    /// waiver for modules looks at (7.0 quirk: later signerInfos are not examined).
    pub first_signer_mldsa: bool,
    /// The emulated kernel's rules the message was parsed under (`signers` parses again).
    rules: Rules,
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

/// `SEQUENCE { OID, ANY OPTIONAL }`: the OID contents (the structure is checked before the
/// caller's action, as the decoder runs it at the end of the SEQUENCE).
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

/// A non-empty `SET OF`/`SEQUENCE OF` body: each element in turn.
fn each_of<'a>(list: &'a [u8], f: &mut dyn FnMut(Element<'a>) -> KResult<()>) -> KResult<()> {
    let mut r = Reader::new(list);
    if r.is_empty() {
        return Err(Errno::EBADMSG);
    }
    while !r.is_empty() {
        f(r.read()?)?;
    }
    Ok(())
}

/// `Name ::= SEQUENCE OF SET OF SEQUENCE { OID, ANY }`, structure only (the signer's issuer;
/// its bytes are used as they are).
fn check_name(contents: &[u8]) -> KResult<()> {
    each_of(contents, &mut |rdn| {
        if rdn.tag != tag::SET {
            return Err(Errno::EBADMSG);
        }
        each_of(rdn.contents, &mut |ava| {
            if ava.tag != tag::SEQUENCE {
                return Err(Errno::EBADMSG);
            }
            let mut a = Reader::new(ava.contents);
            a.expect_tag(tag::OID)?;
            a.read()?;
            if !a.is_empty() {
                return Err(Errno::EBADMSG);
            }
            Ok(())
        })
    })
}

/// A list of certificates as the grammar hands them to pkcs7_extract_cert: every element
/// (whatever its tag: the first CHOICE alternative is ANY) must be a SEQUENCE.
fn certificate_list<'a>(
    list: &'a [u8],
    origin: CertOrigin,
    cert: &mut dyn FnMut(&'a [u8], CertOrigin) -> KResult<()>,
) -> KResult<()> {
    let mut r = Reader::new(list);
    while !r.is_empty() {
        let c = r.read()?;
        if c.tag != tag::SEQUENCE {
            return Err(Errno::EBADMSG);
        }
        cert(c.encoded, origin)?;
    }
    Ok(())
}

/// What the decode leaves for the checks after it.
struct SignerSummary {
    count: usize,
    /// Whether the first signerInfo has `[0]` authenticated attributes.
    first: bool,
    /// Whether the first signerInfo's algorithm is ML-DSA.
    first_mldsa: bool,
    consistent: bool,
}

impl<'a> Pkcs7<'a> {
    /// Parses a DER message as the kernel with `rules` does. Each certificate is handed to
    /// `cert` in document order as the decoder meets it (the kernel parses them during
    /// message parsing, so their errors come in that position).
    pub fn parse_with(
        der: &'a [u8],
        rules: &Rules,
        cert: &mut dyn FnMut(&'a [u8], CertOrigin) -> KResult<()>,
    ) -> KResult<Pkcs7<'a>> {
        if der.len() > MAX_MESSAGE {
            return Err(Errno::EMSGSIZE);
        }
        // ContentInfo ::= SEQUENCE { contentType (must be signedData, EINVAL at once),
        // content [0] EXPLICIT SignedData OPTIONAL }. Bytes after it are not looked at.
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
        let mut w = Reader::new(explicit.contents);
        let sd = w.expect_tag(tag::SEQUENCE)?;
        let (msg, signers) = Pkcs7::signed_data(sd.contents, rules, cert)?;
        // The ends of `[0]` and of the ContentInfo are checked after SignedData decoded.
        if !w.is_empty() || !r.is_empty() {
            return Err(Errno::EBADMSG);
        }
        // pkcs7_check_authattrs, after the decoder.
        if signers.count == 0 || !signers.consistent {
            return Err(Errno::EINVAL);
        }
        Ok(Pkcs7 {
            have_authattrs: signers.first,
            first_signer_mldsa: signers.first_mldsa,
            ..msg
        })
    }

    /// The SignedData body, in grammar order.
    fn signed_data(
        body: &'a [u8],
        rules: &Rules,
        cert: &mut dyn FnMut(&'a [u8], CertOrigin) -> KResult<()>,
    ) -> KResult<(Pkcs7<'a>, SignerSummary)> {
        let mut r = Reader::new(body);
        let version = small_int(r.expect_tag(tag::INTEGER)?)?;
        if version != 1 && version != 3 {
            return Err(Errno::EINVAL);
        }
        // digestAlgorithms: structure only; the kernel does not look at these OIDs.
        let mut algs = Reader::new(set_or_sequence_of(r.read()?)?);
        while !algs.is_empty() {
            alg_oid(algs.read()?)?;
        }
        // contentInfo ::= SEQUENCE { OID, [0] EXPLICIT ANY OPTIONAL }; the content type is
        // judged by the action at its end (pkcs7_note_content).
        let eci = r.expect_tag(tag::SEQUENCE)?;
        let mut er = Reader::new(eci.contents);
        let content_type = er.expect_tag(tag::OID)?.contents;
        let embedded_content = match er.optional(0xa0)? {
            Some(e) => {
                let mut x = Reader::new(e.contents);
                let data = x.read()?;
                if !x.is_empty() {
                    return Err(Errno::EBADMSG);
                }
                Some(data.contents)
            }
            None => None,
        };
        if !er.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let data_type = match content_type {
            oid::DATA => DataType::Data,
            oid::MS_INDIRECT_DATA => DataType::MsIndirectData,
            _ => return Err(Errno::EINVAL),
        };
        // certificates: [0] IMPLICIT SET OF (may be empty) or [2] IMPLICIT SEQUENCE OF
        // (at least one).
        let certs = match r.optional(0xa0)? {
            Some(e) => e.contents,
            None => match r.optional(0xa2)? {
                Some(e) if e.contents.is_empty() => return Err(Errno::EBADMSG),
                Some(e) => e.contents,
                None => &[][..],
            },
        };
        certificate_list(certs, CertOrigin::Certificates, cert)?;
        // crls: [1] IMPLICIT SET OF / [3] IMPLICIT SEQUENCE OF "CertificateList", which
        // the grammar declares as SEQUENCE OF Certificate: each member goes through the
        // same certificate action.
        let crls = match r.optional(0xa1)? {
            Some(e) => Some(e),
            None => r.optional(0xa3)?,
        };
        if let Some(e) = crls {
            each_of(e.contents, &mut |l| {
                if l.tag != tag::SEQUENCE || l.contents.is_empty() {
                    return Err(Errno::EBADMSG);
                }
                certificate_list(l.contents, CertOrigin::Crls, cert)
            })?;
        }
        // signerInfos, each decoded (and its actions run) in turn.
        let signer_infos = set_or_sequence_of(r.read()?)?;
        let mut summary = SignerSummary {
            count: 0,
            first: false,
            first_mldsa: false,
            consistent: true,
        };
        let mut sr = Reader::new(signer_infos);
        while !sr.is_empty() {
            let e = sr.expect_tag(tag::SEQUENCE)?;
            let s = parse_signer(e.contents, version, data_type, rules)?;
            let has = s.auth_attrs.is_some();
            if summary.count == 0 {
                summary.first = has;
                summary.first_mldsa = matches!(s.algo, SigAlgo::MlDsa(_));
            } else if has != summary.first {
                summary.consistent = false;
            }
            summary.count += 1;
        }
        if !r.is_empty() {
            return Err(Errno::EBADMSG);
        }
        let msg = Pkcs7 {
            version,
            data_type,
            embedded_content,
            certs,
            signer_infos,
            have_authattrs: false,
            first_signer_mldsa: false,
            rules: *rules,
        };
        Ok((msg, summary))
    }

    /// Parses a message as the kernel with `rules` does, ignoring certificates' contents.
    pub fn parse(der: &'a [u8], rules: &Rules) -> KResult<Pkcs7<'a>> {
        Pkcs7::parse_with(der, rules, &mut |_, _| Ok(()))
    }

    /// The signerInfos, in message order.
    pub fn signers(&self) -> impl Iterator<Item = KResult<SignerInfo<'a>>> + '_ {
        let mut r = Reader::new(self.signer_infos);
        let (version, data_type, rules) = (self.version, self.data_type, self.rules);
        std::iter::from_fn(move || {
            if r.is_empty() {
                return None;
            }
            Some(
                r.expect_tag(tag::SEQUENCE)
                    .and_then(|e| parse_signer(e.contents, version, data_type, &rules)),
            )
        })
    }

    /// Embedded certificate encodings (the `certificates` field only).
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

/// One signerInfo, member by member in grammar order.
fn parse_signer<'a>(
    body: &'a [u8],
    msg_version: u8,
    data_type: DataType,
    rules: &Rules,
) -> KResult<SignerInfo<'a>> {
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
            let issuer = ir.expect_tag(tag::SEQUENCE)?.contents;
            check_name(issuer)?;
            sid.issuer = Some(issuer);
            sid.serial = Some(ir.expect_tag(tag::INTEGER)?.contents);
            if !ir.is_empty() {
                return Err(Errno::EBADMSG);
            }
        }
        0x80 => sid.skid = Some(sid_el.contents),
        _ => return Err(Errno::EBADMSG),
    }
    let digest = HashAlgo::from_pkcs7_oid(alg_oid(r.read()?)?)?;
    let mut seen = AttrsSeen::default();
    let auth_attrs = match r.optional(0xa0)? {
        Some(e) => {
            walk_attrs(e.contents, data_type, &mut seen)?;
            // pkcs7_sig_note_set_of_authattrs, at the end of the SET.
            match (seen.content_type, seen.message_digest) {
                (true, Some(message_digest)) => Some(AuthAttrs {
                    encoded: e.encoded,
                    message_digest,
                    signing_time: seen.signing_time.map(|(raw, _)| raw),
                }),
                _ => return Err(Errno::EBADMSG),
            }
        }
        None => {
            if let Some(e) = r.optional(0xa2)? {
                // [2] EXPLICIT: one SEQUENCE OF inside, then the end of the [2].
                let mut w = Reader::new(e.contents);
                let list = w.expect_tag(tag::SEQUENCE)?;
                walk_attrs(list.contents, data_type, &mut seen)?;
                if !w.is_empty() {
                    return Err(Errno::EBADMSG);
                }
            }
            None
        }
    };
    let (algo, encoding) = signature_algo(alg_oid(r.read()?)?, rules)?;
    let signature = r.expect_tag(tag::OCTET_STRING)?.contents;
    let unauth = match r.optional(0xa1)? {
        Some(e) => Some(e),
        None => r.optional(0xa3)?,
    };
    if let Some(e) = unauth {
        each_of(e.contents, &mut |attr| {
            if attr.tag != tag::SEQUENCE {
                return Err(Errno::EBADMSG);
            }
            let mut ar = Reader::new(attr.contents);
            ar.expect_tag(tag::OID)?;
            let values = ar.expect_tag(tag::SET)?;
            each_of(values.contents, &mut |_| Ok(()))?;
            if !ar.is_empty() {
                return Err(Errno::EBADMSG);
            }
            Ok(())
        })?;
    }
    if !r.is_empty() {
        return Err(Errno::EBADMSG);
    }
    // pkcs7_note_signed_info, at the end of the signerInfo.
    if data_type == DataType::MsIndirectData && auth_attrs.is_none() {
        return Err(Errno::EBADMSG);
    }
    Ok(SignerInfo {
        sid,
        digest,
        algo,
        encoding,
        auth_attrs,
        signing_time: seen.signing_time.map(|(_, t)| t),
        signature,
    })
}

/// The attributes met so far in one signerInfo (the kernel's `aa_set` bits).
#[derive(Default)]
struct AttrsSeen<'a> {
    content_type: bool,
    message_digest: Option<&'a [u8]>,
    /// Raw contents and decoded value.
    signing_time: Option<(&'a [u8], i64)>,
    smime_caps: bool,
    opus_info: bool,
    statement_type: bool,
}

/// pkcs7_sig_note_authenticated_attr for every value of every attribute, in order; each
/// attribute's own end (nothing after its values) is checked after its values' actions.
fn walk_attrs<'a>(list: &'a [u8], data_type: DataType, seen: &mut AttrsSeen<'a>) -> KResult<()> {
    each_of(list, &mut |attr| {
        if attr.tag != tag::SEQUENCE {
            return Err(Errno::EBADMSG);
        }
        let mut ar = Reader::new(attr.contents);
        let oid = ar.expect_tag(tag::OID)?.contents;
        let values = ar.expect_tag(tag::SET)?;
        each_of(values.contents, &mut |v| note_attr(oid, v, data_type, seen))?;
        if !ar.is_empty() {
            return Err(Errno::EBADMSG);
        }
        Ok(())
    })
}

/// One attribute value: a second value or a repeated attribute is `EKEYREJECTED`.
fn note_attr<'a>(
    oid: &[u8],
    v: Element<'a>,
    data_type: DataType,
    seen: &mut AttrsSeen<'a>,
) -> KResult<()> {
    let once = |flag: &mut bool| {
        if std::mem::replace(flag, true) {
            Err(Errno::EKEYREJECTED)
        } else {
            Ok(())
        }
    };
    let authenticode_only = |flag: &mut bool| {
        once(flag)?;
        if data_type != DataType::MsIndirectData {
            return Err(Errno::EKEYREJECTED);
        }
        Ok(())
    };
    match oid {
        oid::CONTENT_TYPE => {
            once(&mut seen.content_type)?;
            let same = match data_type {
                DataType::Data => v.contents == oid::DATA,
                DataType::MsIndirectData => v.contents == oid::MS_INDIRECT_DATA,
            };
            if !same {
                return Err(Errno::EBADMSG);
            }
        }
        oid::SIGNING_TIME => {
            if seen.signing_time.is_some() {
                return Err(Errno::EKEYREJECTED);
            }
            seen.signing_time = Some((v.contents, asn1::decode_time(v)?));
        }
        oid::MESSAGE_DIGEST => {
            if seen.message_digest.is_some() {
                return Err(Errno::EKEYREJECTED);
            }
            if v.tag != tag::OCTET_STRING {
                return Err(Errno::EBADMSG);
            }
            seen.message_digest = Some(v.contents);
        }
        oid::SMIME_CAPS => authenticode_only(&mut seen.smime_caps)?,
        oid::MS_SP_OPUS_INFO => authenticode_only(&mut seen.opus_info)?,
        oid::MS_STATEMENT_TYPE => authenticode_only(&mut seen.statement_type)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kernel_profile::KernelProfile;

    fn old() -> Rules {
        KernelProfile::V6_18.rules()
    }

    #[test]
    fn rejects_non_signed_data() {
        // ContentInfo { id-data }
        let mut v = vec![0x30, 0x0b, 0x06, 0x09];
        v.extend_from_slice(oid::DATA);
        assert_eq!(Pkcs7::parse(&v, &old()).unwrap_err(), Errno::EINVAL);
        // ContentInfo { signedData } without content: no signerInfo.
        let mut v = vec![0x30, 0x0b, 0x06, 0x09];
        v.extend_from_slice(oid::SIGNED_DATA);
        assert_eq!(Pkcs7::parse(&v, &old()).unwrap_err(), Errno::EINVAL);
        assert_eq!(Pkcs7::parse(&[0x30], &old()).unwrap_err(), Errno::EBADMSG);
        assert_eq!(Pkcs7::parse(&[], &old()).unwrap_err(), Errno::EBADMSG);
        assert_eq!(
            Pkcs7::parse(&vec![0u8; 70000], &old()).unwrap_err(),
            Errno::EMSGSIZE
        );
    }

    #[test]
    fn signature_algorithms() {
        let signature_algo = |o: &[u8]| super::signature_algo(o, &old());
        assert!(signature_algo(oid::RSA_ENCRYPTION).is_ok());
        assert_eq!(
            signature_algo(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])
                .unwrap()
                .0,
            SigAlgo::Ecdsa
        );
        // sha256WithRSAEncryption is not accepted in a signerInfo.
        assert_eq!(signature_algo(oid::SHA256_WITH_RSA), Err(Errno::ENOPKG));
        // ecdsa-with-sha3-224 is not in the kernel's OID registry; sha3-256 is.
        let sha3 = |n: u8| [oid::NIST_SIGALGS, &[n]].concat();
        assert_eq!(signature_algo(&sha3(9)), Err(Errno::ENOPKG));
        assert_eq!(signature_algo(&sha3(10)).unwrap().0, SigAlgo::Ecdsa);
        // GOST 2012 keys are named ("ecrdsa"), so they parse.
        assert_eq!(
            signature_algo(oid::GOST2012_PKEY256),
            Ok((SigAlgo::Ecrdsa, Encoding::Raw))
        );
        // ML-DSA is an unknown algorithm before 7.0, and known with its set from 7.0.
        let new = KernelProfile::V7_2.rules();
        for l in MlDsa::ALL {
            assert_eq!(signature_algo(l.oid()), Err(Errno::ENOPKG));
            assert_eq!(
                super::signature_algo(l.oid(), &new),
                Ok((SigAlgo::MlDsa(l), Encoding::Raw))
            );
        }
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
