//! X.509 DER → [`AsymmetricKey`], decoded the way the kernel decodes it
//! (crypto/asymmetric_keys/x509.asn1, x509_cert_parser.c, x509_public_key.c): ids,
//! authority ids, extension flags with their quirks, validity-time syntax, the description
//! string, the TBS digest with the blacklist check, and self-signedness.
//!
//! The walk follows the kernel's grammar element by element, so the first element that
//! the kernel would refuse gives the kernel's errno. A general-purpose X.509 crate was tried
//! first and dropped: the live kernel accepts certificates such crates refuse (indefinite
//! lengths, hour 24 and second 60 in UTCTime) and refuses some they accept (years before
//! 1970, GeneralizedTime for 1950–2049, empty Names and extension lists), and the
//! differential tests against the kernel decide.

use super::key::{AsymmetricKey, AuthIds, CertSignature, KeyFlags, KeyIds};
use crate::asn1::{self, tag, Element, Reader};
use crate::crypto::{
    Backend, CryptoProfile, Curve, KeySource, MlDsa, PkeyAlgo, PublicKey, SigAlgo,
};
use crate::errno::{Errno, KResult};
use crate::hash::{hex, Digest, HashAlgo};
use crate::kernel_profile::{Rules, TbsHash};
use crate::oid;

/// What the parser needs from the rest of the system.
pub struct ParseEnv<'a> {
    pub profile: &'a CryptoProfile,
    /// The emulated kernel's rules: which algorithms the parser knows, how the `tbs:`
    /// blacklist hash is made.
    pub rules: Rules,
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
    /// notBefore and notAfter, seconds since the epoch. Never enforced for keys; only a
    /// PKCS#7 signingTime is compared with them (pkcs7_verify_one, embedded signer).
    pub valid_from: i64,
    pub valid_to: i64,
}

/// The kernel refuses blobs larger than this (`EMSGSIZE`).
pub const MAX_BLOB: usize = 65535;

/// Certificate signature algorithms the kernel knows (by OID contents), with the hash the
/// signature is made over (`None` for ML-DSA, 7.0+, which signs the TBS itself); anything
/// else fails the whole parse with `ENOPKG` (RSA-PSS, Ed25519, md5WithRSA, and ML-DSA
/// before 7.0).
pub fn cert_sig_algo(oid: &[u8], rules: &Rules) -> KResult<(SigAlgo, Option<HashAlgo>)> {
    if let Some(l) = MlDsa::from_oid(oid).filter(|_| rules.mldsa) {
        return Ok((SigAlgo::MlDsa(l), None));
    }
    cert_sig_hash_algo(oid).map(|(a, h)| (a, Some(h)))
}

/// The RSA and ECDSA signature OIDs every kernel knows.
fn cert_sig_hash_algo(oid: &[u8]) -> KResult<(SigAlgo, HashAlgo)> {
    use oid::{ECDSA_SHA2, NIST_SIGALGS, PKCS1};
    use HashAlgo::*;
    let last = *oid.last().ok_or(Errno::ENOPKG)?;
    let head = &oid[..oid.len() - 1];
    Ok(match (head, last) {
        (PKCS1, 5) => (SigAlgo::Rsa, Sha1),
        (PKCS1, 11) => (SigAlgo::Rsa, Sha256),
        (PKCS1, 12) => (SigAlgo::Rsa, Sha384),
        (PKCS1, 13) => (SigAlgo::Rsa, Sha512),
        (PKCS1, 14) => (SigAlgo::Rsa, Sha224),
        (NIST_SIGALGS, 14) => (SigAlgo::Rsa, Sha3_256),
        (NIST_SIGALGS, 15) => (SigAlgo::Rsa, Sha3_384),
        (NIST_SIGALGS, 16) => (SigAlgo::Rsa, Sha3_512),
        _ if oid == oid::ECDSA_SHA1 => (SigAlgo::Ecdsa, Sha1),
        (ECDSA_SHA2, 1) => (SigAlgo::Ecdsa, Sha224),
        (ECDSA_SHA2, 2) => (SigAlgo::Ecdsa, Sha256),
        (ECDSA_SHA2, 3) => (SigAlgo::Ecdsa, Sha384),
        (ECDSA_SHA2, 4) => (SigAlgo::Ecdsa, Sha512),
        (NIST_SIGALGS, 10) => (SigAlgo::Ecdsa, Sha3_256),
        (NIST_SIGALGS, 11) => (SigAlgo::Ecdsa, Sha3_384),
        (NIST_SIGALGS, 12) => (SigAlgo::Ecdsa, Sha3_512),
        _ => return Err(Errno::ENOPKG),
    })
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`:
/// the OID contents and the parameters element.
fn algorithm_identifier(e: Element<'_>) -> KResult<(&[u8], Option<Element<'_>>)> {
    if e.tag != tag::SEQUENCE {
        return Err(Errno::EBADMSG);
    }
    let mut r = Reader::new(e.contents);
    let oid = r.expect_tag(tag::OID)?.contents;
    let params = if r.is_empty() { None } else { Some(r.read()?) };
    if !r.is_empty() {
        return Err(Errno::EBADMSG);
    }
    Ok((oid, params))
}

/// The attributes of a Name the kernel keeps (last occurrence wins).
#[derive(Default, Clone, Copy)]
struct NameParts<'a> {
    cn: Option<&'a [u8]>,
    o: Option<&'a [u8]>,
    email: Option<&'a [u8]>,
}

/// `Name ::= SEQUENCE OF SET OF SEQUENCE { OID, ANY }`; the kernel's decoder needs at least
/// one element in each SEQUENCE OF / SET OF.
fn walk_name(contents: &[u8]) -> KResult<NameParts<'_>> {
    let mut parts = NameParts::default();
    let mut rdns = Reader::new(contents);
    if rdns.is_empty() {
        return Err(Errno::EBADMSG);
    }
    while !rdns.is_empty() {
        let rdn = rdns.expect_tag(tag::SET)?;
        let mut avas = Reader::new(rdn.contents);
        if avas.is_empty() {
            return Err(Errno::EBADMSG);
        }
        while !avas.is_empty() {
            let ava = avas.expect_tag(tag::SEQUENCE)?;
            let mut a = Reader::new(ava.contents);
            let oid = a.expect_tag(tag::OID)?.contents;
            let value = a.read()?.contents;
            if !a.is_empty() {
                return Err(Errno::EBADMSG);
            }
            match oid {
                oid::CN => parts.cn = Some(value),
                oid::O => parts.o = Some(value),
                oid::EMAIL => parts.email = Some(value),
                _ => {}
            }
        }
    }
    Ok(parts)
}

/// Parses one DER certificate as `add_key("asymmetric", …)` would. Bytes after the
/// certificate are ignored, as the kernel's decoder stops at the end of the top-level
/// element (checked against the live kernel).
pub fn parse(der: &[u8], env: &ParseEnv<'_>) -> KResult<ParsedCert> {
    if der.len() > MAX_BLOB {
        return Err(Errno::EMSGSIZE);
    }
    let cert = Reader::new(der).expect_tag(tag::SEQUENCE)?;
    let mut cr = Reader::new(cert.contents);
    let tbs = cr.expect_tag(tag::SEQUENCE)?;
    let mut t = Reader::new(tbs.contents);
    t.optional(0xa0)?;
    let raw_serial = t.expect_tag(tag::INTEGER)?.contents;
    let (inner_oid, _) = algorithm_identifier(t.read()?)?;
    let (sig_algo, hash) = cert_sig_algo(inner_oid, &env.rules)?;
    let issuer = t.expect_tag(tag::SEQUENCE)?.contents;
    walk_name(issuer)?;
    let validity = t.expect_tag(tag::SEQUENCE)?;
    let mut v = Reader::new(validity.contents);
    let valid_from = asn1::decode_time(v.read()?)?;
    let valid_to = asn1::decode_time(v.read()?)?;
    if !v.is_empty() {
        return Err(Errno::EBADMSG);
    }
    let subject = t.expect_tag(tag::SEQUENCE)?.contents;
    let subject_parts = walk_name(subject)?;

    // subjectPublicKeyInfo.
    let spki = t.expect_tag(tag::SEQUENCE)?;
    let mut sr = Reader::new(spki.contents);
    let (key_oid, params) = algorithm_identifier(sr.read()?)?;
    let key_bits = sr.expect_tag(tag::BIT_STRING)?.contents;
    if !sr.is_empty() {
        return Err(Errno::EBADMSG);
    }
    let pkey_algo = match key_oid {
        oid::RSA_ENCRYPTION => PkeyAlgo::Rsa,
        oid::EC_PUBLIC_KEY => {
            let p = params.filter(|p| p.tag == tag::OID).ok_or(Errno::EBADMSG)?;
            PkeyAlgo::Ecdsa(Curve::from_oid(p.contents).ok_or(Errno::ENOPKG)?)
        }
        // ML-DSA (7.0+): parameters are not looked at, nor is the key's length (a wrong
        // one fails when the key is used, `EINVAL`).
        o => match MlDsa::from_oid(o).filter(|_| env.rules.mldsa) {
            Some(l) => PkeyAlgo::MlDsa(l),
            None => return Err(Errno::ENOPKG),
        },
    };
    let key_bits = match key_bits.split_first() {
        Some((0, rest)) => rest,
        _ => return Err(Errno::EBADMSG),
    };

    // Unique identifiers, then extensions.
    t.optional(0x81)?;
    t.optional(0x82)?;
    let mut ext = Extensions::default();
    if let Some(e) = t.optional(0xa3)? {
        let list = asn1::single(e.contents, tag::SEQUENCE)?;
        let mut lr = Reader::new(list.contents);
        if lr.is_empty() {
            return Err(Errno::EBADMSG);
        }
        while !lr.is_empty() {
            let x = lr.expect_tag(tag::SEQUENCE)?;
            let mut xr = Reader::new(x.contents);
            let oid = xr.expect_tag(tag::OID)?.contents;
            xr.optional(tag::BOOLEAN)?;
            let value = xr.expect_tag(tag::OCTET_STRING)?.contents;
            if !xr.is_empty() {
                return Err(Errno::EBADMSG);
            }
            ext.note(oid, value)?;
        }
    }
    if !t.is_empty() {
        return Err(Errno::EBADMSG);
    }

    // Outer signatureAlgorithm must equal the TBS one; then the signature BIT STRING.
    let (outer_oid, _) = algorithm_identifier(cr.read()?)?;
    if outer_oid != inner_oid {
        return Err(Errno::EINVAL);
    }
    let signature = match cr.expect_tag(tag::BIT_STRING)?.contents.split_first() {
        Some((0, rest)) => rest,
        _ => return Err(Errno::EBADMSG),
    };
    if !cr.is_empty() {
        return Err(Errno::EBADMSG);
    }

    let mut auth_ids = match ext.akid {
        Some(raw) => parse_akid(raw)?,
        None => AuthIds::default(),
    };
    auth_ids.issuer = Some(issuer.into());
    // The backend prepares the key once, here; the live kernel's backend loads the
    // certificate itself (the top-level element only, as the kernel's decoder reads it).
    let source = KeySource {
        algo: pkey_algo,
        key: key_bits,
        cert: Some(cert.encoded),
    };
    let public = PublicKey::new(&source, env.backend);
    let ids = KeyIds {
        id: [raw_serial, issuer].concat().into(),
        skid: ext.skid.map(Into::into),
        subject: subject.into(),
    };

    let (blacklisted, auth) =
        signature_params(env, tbs.encoded, sig_algo, hash, signature, &auth_ids)?;

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
        fabricate_name(subject_parts),
        hex(&key.fingerprint_tail)
    );
    Ok(ParsedCert {
        key,
        blacklisted,
        valid_from,
        valid_to,
    })
}

/// x509_get_sig_params: the `tbs:` blacklist lookup and what the certificate's signature
/// covers. 6.x digests the TBS with the certificate's own hash, unless the emulated kernel
/// lacks it ("unsupported sig": no signature record and no blacklist check), and looks
/// that digest up. 7.0+ looks up SHA-256 of the TBS for every certificate first (one
/// digest when the signature hash is SHA-256 too); ML-DSA then keeps the TBS itself.
fn signature_params(
    env: &ParseEnv<'_>,
    tbs: &[u8],
    algo: SigAlgo,
    hash: Option<HashAlgo>,
    signature: &[u8],
    auth_ids: &AuthIds,
) -> KResult<(bool, Option<CertSignature>)> {
    let looked_up = match env.rules.tbs_hash {
        // The kernel's library SHA-256, whatever the crypto API has.
        TbsHash::Sha256 => Some(HashAlgo::Sha256.digest(tbs)?),
        TbsHash::SignatureHash => match hash.filter(|&h| env.profile.has_hash(h)) {
            Some(h) => Some(h.digest(tbs)?),
            None => None,
        },
    };
    let blacklisted = looked_up.as_ref().is_some_and(|d| (env.tbs_blacklisted)(d));
    let tbs_digest = match hash {
        None => None,
        Some(h) if !env.profile.has_hash(h) => return Ok((blacklisted, None)),
        Some(h) => match looked_up.filter(|d| d.algo() == h) {
            Some(d) => Some(d),
            None => Some(h.digest(tbs)?),
        },
    };
    let keep_tbs = tbs_digest.is_none() || env.backend.hashes_message();
    Ok((
        blacklisted,
        Some(CertSignature {
            algo,
            encoding: algo.encoding(),
            hash,
            signature: signature.into(),
            tbs_digest,
            tbs: keep_tbs.then(|| tbs.into()),
            auth_ids: auth_ids.clone(),
        }),
    ))
}

/// Extension payloads the kernel decodes by hand.
#[derive(Default)]
struct Extensions<'a> {
    skid: Option<&'a [u8]>,
    akid: Option<&'a [u8]>,
    flags: KeyFlags,
}

impl<'a> Extensions<'a> {
    fn note(&mut self, oid: &[u8], v: &'a [u8]) -> KResult<()> {
        match oid {
            oid::SKID => {
                if self.skid.is_some() || v.len() < 3 {
                    return Err(Errno::EBADMSG);
                }
                if v[0] != tag::OCTET_STRING || v[1] as usize != v.len() - 2 {
                    return Err(Errno::EBADMSG);
                }
                self.skid = Some(&v[2..]);
            }
            oid::KEY_USAGE => {
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
            oid::BASIC_CONSTRAINTS => {
                if v.len() < 2 || v[0] != tag::SEQUENCE || v[1] as usize != v.len() - 2 {
                    return Err(Errno::EBADMSG);
                }
                // The kernel we compare against (6.18) accepts an empty SEQUENCE (not a CA)
                // or one starting with `BOOLEAN TRUE` (0xff); anything else, including an
                // explicit `cA FALSE` or a pathLen without cA, is refused.
                if v[1] != 0 {
                    if v.len() >= 5 && v[2] == tag::BOOLEAN && v[3] == 1 && v[4] == 0xff {
                        self.flags.ca = true;
                    } else {
                        return Err(Errno::EBADMSG);
                    }
                }
            }
            oid::AKID => self.akid = Some(v),
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
    // A backend that cannot do this verification answers as a kernel without the
    // algorithm does (ENOPKG: "unsupported sig", not self-signed), and is not counted as an
    // unsupported verification of whatever item caused the parse.
    match key.public.check(&sig.record(), profile) {
        Ok(Ok(())) => Ok(true),
        Ok(Err(Errno::ENOPKG)) | Err(_) => Ok(false),
        Ok(Err(e)) => Err(e),
    }
}

/// x509_fabricate_name: CN alone when it starts with all of O (or their first 7 bytes
/// agree), "O: CN" when both exist otherwise, else CN, O or emailAddress. Raw bytes, last
/// occurrence of each attribute wins.
fn fabricate_name(n: NameParts<'_>) -> String {
    let s = |b: &[u8]| {
        let b = b.split(|&c| c == 0).next().unwrap_or_default();
        String::from_utf8_lossy(b).into_owned()
    };
    match (n.cn, n.o) {
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
        (None, None) => n.email.map(s).unwrap_or_default(),
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
    fn basic_constraints_as_this_kernel_decodes_them() {
        let mut e = Extensions::default();
        e.note(oid::BASIC_CONSTRAINTS, &[0x30, 0x03, 0x01, 0x01, 0xff])
            .unwrap();
        assert!(e.flags.ca);
        // Explicit cA FALSE, or pathLen alone: refused by the 6.18 kernel.
        for v in [
            &[0x30, 0x03, 0x01, 0x01, 0x00][..],
            &[0x30, 0x03, 0x02, 0x01, 0x00],
        ] {
            assert_eq!(
                Extensions::default().note(oid::BASIC_CONSTRAINTS, v),
                Err(Errno::EBADMSG)
            );
        }
        let mut e = Extensions::default();
        e.note(oid::BASIC_CONSTRAINTS, &[0x30, 0x00]).unwrap();
        assert!(!e.flags.ca);
        assert_eq!(
            Extensions::default().note(oid::BASIC_CONSTRAINTS, &[0x30, 0x05, 1]),
            Err(Errno::EBADMSG)
        );
    }

    #[test]
    fn key_usage_quirks() {
        let mut e = Extensions::default();
        // digitalSignature | keyCertSign, 1 byte, 2 unused bits.
        e.note(oid::KEY_USAGE, &[0x03, 0x02, 0x02, 0x84]).unwrap();
        assert!(e.flags.digital_signature && e.flags.key_cert_sign);
        let mut e = Extensions::default();
        // 1 byte with 3 unused bits: keyCertSign not recognised.
        e.note(oid::KEY_USAGE, &[0x03, 0x02, 0x03, 0x84]).unwrap();
        assert!(e.flags.digital_signature && !e.flags.key_cert_sign);
        let mut e = Extensions::default();
        e.note(oid::KEY_USAGE, &[0x03, 0x03, 0x07, 0x04, 0x80])
            .unwrap();
        assert!(e.flags.key_cert_sign);
        assert_eq!(
            Extensions::default().note(oid::KEY_USAGE, &[0x03, 0x02, 0x08, 0x80]),
            Err(Errno::EBADMSG)
        );
    }

    #[test]
    fn skid_rules() {
        let mut e = Extensions::default();
        e.note(oid::SKID, &[0x04, 0x02, 0xab, 0xcd]).unwrap();
        assert_eq!(e.skid, Some(&[0xab, 0xcd][..]));
        assert_eq!(e.note(oid::SKID, &[0x04, 0x01, 0xab]), Err(Errno::EBADMSG));
        assert_eq!(
            Extensions::default().note(oid::SKID, &[0x04, 0x05, 0xab, 0xcd]),
            Err(Errno::EBADMSG)
        );
    }

    #[test]
    fn validity_times() {
        let t = |tag: u8, s: &str| {
            let mut v = vec![tag, s.len() as u8];
            v.extend_from_slice(s.as_bytes());
            asn1::decode_time(Reader::new(&v).read().unwrap())
        };
        assert!(t(0x17, "260101240000Z").is_ok());
        assert!(t(0x17, "260101235960Z").is_ok());
        assert_eq!(t(0x17, "650101000000Z"), Err(Errno::EBADMSG));
        assert_eq!(t(0x17, "2601010000Z"), Err(Errno::EBADMSG));
        assert_eq!(t(0x18, "20300101000000Z"), Err(Errno::EBADMSG));
        assert!(t(0x18, "20500101000000Z").is_ok());
        assert_eq!(t(0x17, "260230000000Z"), Err(Errno::EBADMSG));
        assert!(t(0x17, "240229000000Z").is_ok());
        assert_eq!(t(0x17, "261301000000Z"), Err(Errno::EBADMSG));
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
