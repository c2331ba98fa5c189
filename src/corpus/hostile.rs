//! The hostile items of a corpus (`[hostile]` in a spec): the nastiest inputs the formats
//! allow, each with the verdict and errno the kernel gives it, written beside the ordinary
//! items into `hostile/` and into the same manifest. The families are
//! [`BadClass::HOSTILE`]; each item's variant is the byte (or the count) that makes it
//! hostile, and each verdict is derived from the kernel's code path for it (cited per
//! variant below), not from this crate's verifier.
//!
//! Also the hostile keyring lines (`hostile.keyrings`): restriction cycles and link cycles
//! (`EDEADLK`), keyrings nested past `KEYRING_SEARCH_MAX_DEPTH` (`ELOOP`), and certificates
//! too big for the kernel's decoder (`EMSGSIZE`) or for `add_key(2)` (`EINVAL`), each with
//! the kernel's errno in `keyring.expected`; all of them run in a session keyring, so
//! `keyring replay --kernel` checks them against the live kernel.

use super::bad::BadClass;
use super::der;
use super::manifest::Expected;
use super::pki::Issued;
use super::sign::{self, Pkcs7Quirks, SignerIdKind};
use super::spec::HostileSpec;
use crate::asn1::{Element, Reader};
use crate::errno::Errno;
use crate::error::Error;
use crate::formats::{modsig, pkcs7};
use crate::hash::HashAlgo;
use crate::verify::ItemKind;
use std::fmt::Write as _;
use std::path::Path;

/// What the hostile items are signed with: a module signer whose certificate is in the
/// module keyring, an IMA signer in `.ima`, and the root that issued it (for keyring lines).
pub struct Signers<'a> {
    /// Signs the modules (its certificate is in `.secondary_trusted_keys`).
    pub module: &'a Issued,
    /// Signs the IMA files (its certificate is in `.ima`).
    pub ima: &'a Issued,
}

/// The hostile items and keyring lines, ready for the manifest and the script.
#[derive(Default)]
pub struct Output {
    /// One manifest row per item.
    pub rows: Vec<Expected>,
    /// Bytes written.
    pub bytes: u64,
    /// Lines for `keyring.script`.
    pub script: String,
    /// Their outcomes, for `keyring.expected`.
    pub expected: String,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn input_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

struct Writer<'a> {
    dir: &'a Path,
    out: Output,
}

impl Writer<'_> {
    /// Writes one item (`hostile/NAME`) and its row; `sig` is an IMA file's sidecar.
    fn item(
        &mut self,
        name: &str,
        kind: ItemKind,
        class: BadClass,
        bytes: &[u8],
        sig: Option<&[u8]>,
        errno: Option<Errno>,
    ) -> Result<(), Error> {
        let rel = format!("hostile/{name}");
        let path = self.dir.join(&rel);
        write(&path, bytes)?;
        if let Some(sig) = sig {
            write(&crate::verify::ima::sidecar_path(&path), sig)?;
        }
        self.out.bytes += bytes.len() as u64;
        self.out
            .rows
            .push(Expected::new(rel, kind, Some(class), errno));
        Ok(())
    }

    fn line(&mut self, line: &str, outcome: &str) {
        let _ = writeln!(self.out.script, "{line}");
        let _ = writeln!(self.out.expected, "{outcome}");
    }
}

/// Module content for item `i` of a family: deterministic, never empty.
fn content(tag: &str, i: usize, len: usize) -> Vec<u8> {
    let seed = format!("trustbench hostile {tag} {i} ");
    seed.bytes().cycle().take(len.max(1)).collect()
}

/// A module signed as sign-file signs it (issuer+serial, or SKID), and its PKCS#7.
fn signed_pkcs7(s: &Issued, id: SignerIdKind, body: &[u8], path: &Path) -> Result<Vec<u8>, Error> {
    let digest = HashAlgo::Sha256
        .digest(body)
        .map_err(|e| input_err(path, e.to_string()))?;
    sign::pkcs7(&s.key, &s.signer, id, body, &digest, Pkcs7Quirks::default())
}

fn module(body: &[u8], p7: &[u8]) -> Vec<u8> {
    let mut m = body.to_vec();
    sign::append_module_signature(&mut m, p7);
    m
}

/// Every element of `b` in order (the generator's own DER: it always parses).
fn elements<'a>(b: &'a [u8], path: &Path) -> Result<Vec<Element<'a>>, Error> {
    let mut r = Reader::new(b);
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(
            r.read()
                .map_err(|e| input_err(path, format!("re-parse of own PKCS#7: {e}")))?,
        );
    }
    Ok(v)
}

/// The PKCS#7's SignedData members (version, digestAlgorithms, contentInfo,
/// [certificates], signerInfos), for rebuilding.
fn signed_data_parts(p7: &[u8], path: &Path) -> Result<Vec<Vec<u8>>, Error> {
    let ci = elements(p7, path)?;
    let ci = elements(ci[0].contents, path)?;
    let explicit = elements(ci[1].contents, path)?;
    let sd = elements(explicit[0].contents, path)?;
    Ok(sd.iter().map(|e| e.encoded.to_vec()).collect())
}

/// ContentInfo { signedData, [0] { SignedData { parts } } }.
fn rebuild(parts: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let sd = der::seq(&refs);
    der::seq(&[&der::oid(crate::oid::SIGNED_DATA), &der::tlv(0xa0, &sd)])
}

/// `parts` with `certs` (already-encoded certificates) as the `[0]` certificate set,
/// inserted before the signerInfos.
fn with_certs(mut parts: Vec<Vec<u8>>, certs: &[u8]) -> Vec<Vec<u8>> {
    let at = parts.len() - 1;
    parts.insert(at, der::tlv(0xa0, certs));
    parts
}

/// `parts` with `before` (already-encoded signerInfos) ahead of the real one.
fn with_signers_before(
    mut parts: Vec<Vec<u8>>,
    before: &[u8],
    path: &Path,
) -> Result<Vec<Vec<u8>>, Error> {
    let last = parts.len() - 1;
    let set = elements(&parts[last], path)?;
    let mut body = before.to_vec();
    body.extend_from_slice(set[0].contents);
    parts[last] = der::tlv(0x31, &body);
    Ok(parts)
}

/// `parts` whose (single) signerInfo's digestAlgorithm carries `params` after its OID.
fn with_digest_params(
    mut parts: Vec<Vec<u8>>,
    params: &[u8],
    path: &Path,
) -> Result<Vec<Vec<u8>>, Error> {
    let last = parts.len() - 1;
    let set = elements(&parts[last], path)?;
    let si = elements(set[0].contents, path)?;
    let members = elements(si[0].contents, path)?;
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        if i == 2 {
            let alg = elements(m.contents, path)?;
            out.extend(der::seq(&[alg[0].encoded, params]));
        } else {
            out.extend_from_slice(m.encoded);
        }
    }
    parts[last] = der::tlv(0x31, &der::tlv(0x30, &out));
    Ok(parts)
}

/// `e` (one encoded element) re-encoded with its length in `octets`-octet long form.
fn long_form(e: &[u8], octets: usize, path: &Path) -> Result<Vec<u8>, Error> {
    let el = elements(e, path)?;
    let n = el[0].contents.len();
    let mut v = vec![el[0].tag, 0x80 | octets as u8];
    v.extend_from_slice(&n.to_be_bytes()[8 - octets..]);
    v.extend_from_slice(el[0].contents);
    Ok(v)
}

/// Writes every hostile item `spec` asks for into `dir/hostile/` (created).
pub fn generate(spec: &HostileSpec, s: &Signers<'_>, dir: &Path) -> Result<Output, Error> {
    let hdir = dir.join("hostile");
    std::fs::create_dir_all(&hdir).map_err(|e| Error::io(&hdir, e))?;
    let mut w = Writer {
        dir,
        out: Output::default(),
    };
    let m = ItemKind::Module;
    let ima = ItemKind::Ima;
    let here = hdir.as_path();

    // kernel/module/signing.c mod_verify_sig → module_signature.c mod_check_sig:
    // sig_len >= modlen - sizeof(ms) is EBADMSG, whatever the value.
    for i in 0..spec.sig_len {
        let body = content("sig-len", i, 300);
        let p7 = signed_pkcs7(s.module, SignerIdKind::IssuerSerial, &body, here)?;
        let file = module(&body, &p7);
        let h0 = file.len() - modsig::MARKER.len() - modsig::HEADER_LEN;
        let avail = h0 as u32;
        for (v, sig_len) in [
            ("no-content", avail),
            ("past-start", avail + 7),
            ("huge", 0x7fff_ffff),
            ("all-ones", 0xffff_ffff),
        ] {
            let mut f = file.clone();
            f[h0 + 8..h0 + 12].copy_from_slice(&sig_len.to_be_bytes());
            let name = format!("sig-len-{v}-{i}.ko");
            w.item(
                &name,
                m,
                BadClass::HostileSigLen,
                &f,
                None,
                Some(Errno::EBADMSG),
            )?;
        }
    }
    // sig_len 0: verify_pkcs7_signature gets zero bytes; asn1_ber_decoder overruns at once.
    for i in 0..spec.sig_len_zero {
        let mut f = content("sig-len-zero", i, 300);
        f.extend_from_slice(&modsig::trailer(0));
        let name = format!("sig-len-zero-{i}.ko");
        w.item(
            &name,
            m,
            BadClass::HostileSigLenZero,
            &f,
            None,
            Some(Errno::EBADMSG),
        )?;
    }
    // module_sig_check: a file no longer than the marker has no signature (ENODATA);
    // mod_verify_sig: what precedes the marker must be longer than the 12-byte header.
    for i in 0..spec.trailer_only {
        let name = format!("trailer-only-marker-{i}.ko");
        w.item(
            &name,
            m,
            BadClass::HostileTrailerOnly,
            modsig::MARKER,
            None,
            Some(Errno::ENODATA),
        )?;
        let name = format!("trailer-only-header-{i}.ko");
        let t = modsig::trailer(0);
        w.item(
            &name,
            m,
            BadClass::HostileTrailerOnly,
            &t,
            None,
            Some(Errno::EBADMSG),
        )?;
    }
    // Zero-length files: a module is refused by finit_module's kernel_read_file before any
    // signature check (i_size <= 0: EINVAL); IMA: no label (INTEGRITY_NOLABEL), and a
    // signature over the empty content verifies like any other.
    for i in 0..spec.empty {
        w.item(
            &format!("empty-{i}.ko"),
            m,
            BadClass::HostileEmpty,
            &[],
            None,
            Some(Errno::EINVAL),
        )?;
        w.item(
            &format!("empty-unlabelled-{i}.bin"),
            ima,
            BadClass::HostileEmpty,
            &[],
            None,
            Some(Errno::ENODATA),
        )?;
        let d = HashAlgo::Sha256
            .digest(&[])
            .map_err(|e| input_err(here, e.to_string()))?;
        let sig = sign::ima_v2(&s.ima.key, &s.ima.signer.skid, &d)?;
        w.item(
            &format!("empty-signed-{i}.bin"),
            ima,
            BadClass::HostileEmpty,
            &[],
            Some(&sig),
            None,
        )?;
    }
    // The digestAlgorithm's parameters are `ANY OPTIONAL` in pkcs7.asn1: the decoder skips
    // them with asn1_find_indefinite_length, one pass with a level counter and no depth
    // limit; the signature does not cover them, so the module stays valid. One missing
    // end-of-contents is "Missing EOC in indefinite len cons", EBADMSG.
    for i in 0..spec.deep_nesting {
        let depth = spec.nesting_depth.max(1);
        let body = content("deep", i, 300);
        let p7 = signed_pkcs7(s.module, SignerIdKind::IssuerSerial, &body, here)?;
        let mut params = [0x30u8, 0x80].repeat(depth);
        params.extend_from_slice(&[0x05, 0x00]);
        params.extend([0u8, 0].repeat(depth));
        let parts = with_digest_params(signed_data_parts(&p7, here)?, &params, here)?;
        let ok = rebuild(&parts);
        w.item(
            &format!("deep-nesting-closed-{i}.ko"),
            m,
            BadClass::HostileDeepNesting,
            &module(&body, &ok),
            None,
            None,
        )?;
        params.truncate(params.len() - 2);
        let parts = with_digest_params(signed_data_parts(&p7, here)?, &params, here)?;
        let bad = rebuild(&parts);
        w.item(
            &format!("deep-nesting-unclosed-{i}.ko"),
            m,
            BadClass::HostileDeepNesting,
            &module(&body, &bad),
            None,
            Some(Errno::EBADMSG),
        )?;
    }
    // asn1_ber_decoder: more than 65535 bytes is EMSGSIZE before anything is decoded; a
    // length in more than two octets is "Unsupported length", EBADMSG.
    for i in 0..spec.huge_der {
        let body = content("huge", i, 300);
        let p7 = signed_pkcs7(s.module, SignerIdKind::IssuerSerial, &body, here)?;
        let big_cert = der::seq(&[&der::tlv(0x04, &vec![0x5a; 70 << 10])]);
        let parts = with_certs(signed_data_parts(&p7, here)?, &big_cert);
        let huge = rebuild(&parts);
        debug_assert!(huge.len() > pkcs7::MAX_MESSAGE);
        w.item(
            &format!("huge-der-70k-cert-{i}.ko"),
            m,
            BadClass::HostileHugeDer,
            &module(&body, &huge),
            None,
            Some(Errno::EMSGSIZE),
        )?;
        for octets in [3usize, 4] {
            let mut parts = signed_data_parts(&p7, here)?;
            let last = parts.len() - 1;
            parts[last] = long_form(&parts[last], octets, here)?;
            let p = rebuild(&parts);
            let name = format!("huge-der-{octets}-octet-length-{i}.ko");
            w.item(
                &name,
                m,
                BadClass::HostileHugeDer,
                &module(&body, &p),
                None,
                Some(Errno::EBADMSG),
            )?;
        }
    }
    // pkcs7_validate_trust: a signerInfo whose key is not found is ENOKEY and skipped; one
    // trusted signerInfo makes the message trusted. A found key that does not verify its
    // signerInfo is final (EKEYREJECTED), whatever follows.
    for i in 0..spec.many_signers {
        let body = content("signers", i, 300);
        let p7 = signed_pkcs7(s.module, SignerIdKind::Skid, &body, here)?;
        let parts = signed_data_parts(&p7, here)?;
        let set = elements(&parts[parts.len() - 1], here)?;
        let real = elements(set[0].contents, here)?;
        let members = elements(real[0].contents, here)?;
        let fake = |skid: &[u8]| {
            der::seq(&[
                members[0].encoded,
                &der::tlv(0x80, skid),
                members[2].encoded,
                members[3].encoded,
                &der::tlv(0x04, &[0x01]),
            ])
        };
        let n = spec.signers.max(1);
        let unknown: Vec<u8> = (0..n)
            .flat_map(|k| fake(&(0xdead_0000u32 + k as u32).to_be_bytes().repeat(5)))
            .collect();
        let p = rebuild(&with_signers_before(parts.clone(), &unknown, here)?);
        w.item(
            &format!("many-signers-unknown-{i}.ko"),
            m,
            BadClass::HostileManySigners,
            &module(&body, &p),
            None,
            None,
        )?;
        let named: Vec<u8> = (0..n).flat_map(|_| fake(&s.module.signer.skid)).collect();
        let p = rebuild(&with_signers_before(parts, &named, here)?);
        w.item(
            &format!("many-signers-bad-first-{i}.ko"),
            m,
            BadClass::HostileManySigners,
            &module(&body, &p),
            None,
            Some(Errno::EKEYREJECTED),
        )?;
    }
    // pkcs7_extract_cert parses every embedded certificate; pkcs7_find_key takes the first
    // whose id matches (the signer's own, embedded many times over), whose key verifies
    // the signerInfo; the chain ends at the issuer, which is not embedded; the keyring
    // holds the signer: valid. Thousands of them pass 64 KiB: EMSGSIZE.
    for i in 0..spec.many_certs {
        let body = content("certs", i, 300);
        let p7 = signed_pkcs7(s.module, SignerIdKind::IssuerSerial, &body, here)?;
        let cert = &s.module.der;
        let fit = (pkcs7::MAX_MESSAGE - p7.len() - 16) / cert.len();
        let parts = with_certs(signed_data_parts(&p7, here)?, &cert.repeat(fit));
        let p = rebuild(&parts);
        w.item(
            &format!("many-certs-{fit}-{i}.ko"),
            m,
            BadClass::HostileManyCerts,
            &module(&body, &p),
            None,
            None,
        )?;
        let thousands = (pkcs7::MAX_MESSAGE / cert.len() + 1).max(2000);
        let parts = with_certs(signed_data_parts(&p7, here)?, &cert.repeat(thousands));
        let p = rebuild(&parts);
        w.item(
            &format!("many-certs-{thousands}-{i}.ko"),
            m,
            BadClass::HostileManyCerts,
            &module(&body, &p),
            None,
            Some(Errno::EMSGSIZE),
        )?;
    }
    // x509.asn1: Certificate ::= SEQUENCE { TBSCertificate ::= SEQUENCE { version [0]
    // OPTIONAL, serialNumber INTEGER, ... } }: a Certificate inside a Certificate puts a
    // SEQUENCE where the INTEGER goes ("Unexpected tag"), EBADMSG, and the message fails.
    for i in 0..spec.nested_cert {
        let body = content("nested", i, 300);
        let p7 = signed_pkcs7(s.module, SignerIdKind::IssuerSerial, &body, here)?;
        let nested = der::seq(&[&s.module.der]);
        let parts = with_certs(signed_data_parts(&p7, here)?, &nested);
        let p = rebuild(&parts);
        w.item(
            &format!("nested-cert-{i}.ko"),
            m,
            BadClass::HostileNestedCert,
            &module(&body, &p),
            None,
            Some(Errno::EBADMSG),
        )?;
    }
    for i in 0..spec.ima_header {
        ima_headers(&mut w, s, i)?;
    }
    // Tiny files: one byte each, validly signed (a small file is one lookup and one verify;
    // a million of them is a test of per-item overhead).
    for i in 0..spec.tiny_files {
        let body = [(i % 251) as u8];
        let d = HashAlgo::Sha256
            .digest(&body)
            .map_err(|e| input_err(here, e.to_string()))?;
        let sig = sign::ima_v2(&s.ima.key, &s.ima.signer.skid, &d)?;
        w.item(
            &format!("tiny-{i:07}.bin"),
            ima,
            BadClass::HostileTiny,
            &body,
            Some(&sig),
            None,
        )?;
    }
    if spec.keyrings {
        keyring_lines(&mut w, s, dir)?;
    }
    Ok(w.out)
}

/// Every malformed header shape of `security.ima` (here its sidecar), with the errno of
/// `ima_appraise_measurement` → `xattr_verify` → `integrity_digsig_verify` →
/// `asymmetric_verify` (6.18), in that order ([`crate::formats::imasig::parse`] cites
/// each step).
fn ima_headers(w: &mut Writer<'_>, s: &Signers<'_>, i: usize) -> Result<(), Error> {
    let body = content("ima-header", i, 64);
    let here = w.dir.join("hostile");
    let d = HashAlgo::Sha256
        .digest(&body)
        .map_err(|e| input_err(&here, e.to_string()))?;
    let good = sign::ima_v2(&s.ima.key, &s.ima.signer.skid, &d)?;
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let sig_size = |v: &mut Vec<u8>, n: u16| v[7..9].copy_from_slice(&n.to_be_bytes());
    let real = (good.len() - 9) as u16;
    let mut max = vec![3u8, 2, 4, 0xfe, 0xed, 0xfa, 0xce, 0xff, 0xff];
    max.resize(9 + 65535, 0x42);
    let shapes: Vec<(&str, Vec<u8>, Option<Errno>)> = vec![
        // A zero-length xattr is no label at all.
        ("empty", Vec::new(), Some(Errno::ENODATA)),
        // integrity_digsig_verify: fewer than 2 bytes.
        ("type-only", vec![3], Some(Errno::EINVAL)),
        // asymmetric_verify: not longer than the 9-byte header.
        ("two-bytes", vec![3, 2], Some(Errno::EBADMSG)),
        ("header-only", good[..9].to_vec(), Some(Errno::EBADMSG)),
        // sig_size must be exactly what follows the header.
        (
            "sig-size-bigger",
            with(&|v| sig_size(v, real + 1)),
            Some(Errno::EBADMSG),
        ),
        (
            "sig-size-smaller",
            with(&|v| sig_size(v, real - 1)),
            Some(Errno::EBADMSG),
        ),
        (
            "sig-size-zero",
            with(&|v| sig_size(v, 0)),
            Some(Errno::EBADMSG),
        ),
        (
            "sig-size-max",
            with(&|v| sig_size(v, 0xffff)),
            Some(Errno::EBADMSG),
        ),
        (
            "truncated",
            good[..good.len() - 1].to_vec(),
            Some(Errno::EBADMSG),
        ),
        // hash_algo >= HASH_ALGO__LAST.
        ("hash-algo-23", with(&|v| v[2] = 23), Some(Errno::ENOPKG)),
        ("hash-algo-255", with(&|v| v[2] = 0xff), Some(Errno::ENOPKG)),
        // Versions: 0 and 4.. are not digsig versions (EOPNOTSUPP, INTEGRITY_UNKNOWN);
        // xattr_verify refuses type 3 with version >= 3 first (EINVAL).
        ("version-0", with(&|v| v[1] = 0), Some(Errno::EOPNOTSUPP)),
        ("version-3", with(&|v| v[1] = 3), Some(Errno::EINVAL)),
        ("version-255", with(&|v| v[1] = 0xff), Some(Errno::EINVAL)),
        // fs-verity type with a version other than 3.
        ("verity-version-2", with(&|v| v[0] = 6), Some(Errno::EINVAL)),
        // Types security.ima never holds: unknown-ima-data.
        ("type-0", with(&|v| v[0] = 0), Some(Errno::EINVAL)),
        ("type-hmac", with(&|v| v[0] = 2), Some(Errno::EINVAL)),
        ("type-portable", with(&|v| v[0] = 5), Some(Errno::EINVAL)),
        ("type-255", with(&|v| v[0] = 0xff), Some(Errno::EINVAL)),
        // A hash label of one byte: not a signature, refused under imasig.
        ("digest-ng-type-only", vec![4], Some(Errno::EINVAL)),
        // The largest value the header allows, for a keyid no keyring holds.
        ("largest", max, Some(Errno::ENOKEY)),
        // The keyid of no key.
        (
            "keyid-unknown",
            with(&|v| v[3..7].copy_from_slice(&[0xfe, 0xed, 0xfa, 0xce])),
            Some(Errno::ENOKEY),
        ),
    ];
    for (name, sig, errno) in shapes {
        w.item(
            &format!("ima-header-{name}-{i}.bin"),
            ItemKind::Ima,
            BadClass::HostileImaHeader,
            &body,
            Some(&sig),
            errno,
        )?;
    }
    Ok(())
}

/// Keyring lines the kernel refuses, in session keyrings only (so the live kernel runs
/// every one of them):
/// * restriction cycles (keyring_detect_restriction_cycle: `EDEADLK`);
/// * link cycles (keyring_detect_cycle finds the destination in the linked tree:
///   `EDEADLK`), the keyring into itself included;
/// * a chain of keyrings built from the bottom up: linking one whose tree is seven levels
///   deep meets a nested keyring at depth 6 (`KEYRING_SEARCH_MAX_DEPTH` with
///   `KEYRING_SEARCH_DETECT_TOO_DEEP`: `ELOOP`); from the top down it never fails, since
///   only the linked tree is measured;
/// * a certificate of 70 KiB (`x509_cert_parse` → `asn1_ber_decoder`: `EMSGSIZE`, which
///   the asymmetric key type returns as it is) and a payload of 1 MiB (`add_key(2)`:
///   more than 1 MiB − 1 is `EINVAL`).
fn keyring_lines(w: &mut Writer<'_>, s: &Signers<'_>, dir: &Path) -> Result<(), Error> {
    // A comment has no outcome line.
    w.out
        .script
        .push_str("# hostile: restriction cycles, link cycles, depth, sizes\n");
    for r in ["hr-a", "hr-b", "hr-c", "hr-d"] {
        w.line(&format!("newring {r}"), "ok");
    }
    w.line("restrict hr-a key_or_keyring:hr-b:chain", "ok");
    w.line("restrict hr-b key_or_keyring:hr-c", "ok");
    w.line("restrict hr-c key_or_keyring:hr-d:chain", "ok");
    w.line("restrict hr-d key_or_keyring:hr-a", "EDEADLK");
    w.line("restrict hr-d key_or_keyring:hr-d", "EDEADLK");
    w.line("restrict hr-d key_or_keyring:hr-b:chain", "EDEADLK");
    // Link cycles.
    for r in ["hl-a", "hl-b", "hl-c"] {
        w.line(&format!("newring {r}"), "ok");
    }
    w.line("link hl-b hl-a", "ok");
    w.line("link hl-c hl-b", "ok");
    w.line("link hl-a hl-c", "EDEADLK");
    w.line("link hl-a hl-a", "EDEADLK");
    w.line("link hl-b hl-c", "EDEADLK");
    // Depth: hd-0 ← hd-1 ← … ← hd-8 built from the bottom.
    for k in 0..=8 {
        w.line(&format!("newring hd-{k}"), "ok");
    }
    for k in (0..8).rev() {
        // Linking hd-(k+1) whose tree is 7 - k levels deep below it.
        let outcome = if 8 - (k + 1) > 6 { "ELOOP" } else { "ok" };
        w.line(&format!("link hd-{} hd-{k}", k + 1), outcome);
    }
    // Top down: every link sees an empty tree.
    for k in 0..=8 {
        w.line(&format!("newring ht-{k}"), "ok");
    }
    for k in 0..8 {
        w.line(&format!("link ht-{} ht-{k}", k + 1), "ok");
    }
    // Oversized certificates.
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).map_err(|e| Error::io(&certs, e))?;
    let mut big = s.module.der.clone();
    let ext = der::tlv(0x04, &vec![0x33; 70 << 10]);
    big = der::seq(&[&big, &ext]);
    write(&certs.join("hostile-70k.der"), &big)?;
    let mut mib = big.clone();
    mib.resize(1 << 20, 0);
    write(&certs.join("hostile-1mib.der"), &mib)?;
    w.line("newring hc", "ok");
    w.line("add big70k hc certs/hostile-70k.der", "EMSGSIZE");
    w.line("add big1m hc certs/hostile-1mib.der", "EINVAL");
    Ok(())
}
