//! The order of the kernel's IMA appraisal checks, one test per ordering decision: when a
//! label has several defects, the check the kernel makes first decides the errno.
//!
//! Walked in Linux 6.18 (security/integrity/ima/ima_main.c `process_measurement`,
//! ima_appraise.c `ima_appraise_measurement` / `xattr_verify` / `ima_get_hash_algo`,
//! digsig.c `integrity_digsig_verify`, digsig_asymmetric.c `asymmetric_verify` /
//! `request_asymmetric_key`):
//!
//! 1. `ima_collect_measurement` hashes the file with `ima_get_hash_algo`'s algorithm before
//!    anything looks at the label: a named algorithm the kernel lacks fails first.
//! 2. `ima_check_blacklist` (imasig rules) runs before `ima_appraise_measurement`: a
//!    blacklisted digest is `EPERM` whatever the label.
//! 3. No label → NOLABEL; type 1/4 under imasig → "IMA-signature-required" (`EINVAL`)
//!    before any comparison.
//! 4. Type 3: the version (≥ 3 → `EINVAL`) before `integrity_digsig_verify`'s length < 2
//!    and its version dispatch (`EOPNOTSUPP`), before `asymmetric_verify`'s length ≤ 9,
//!    then sig_size (`EBADMSG`), then hash algo ≥ 23 (`ENOPKG`), then `.ima_blacklist`
//!    (`EKEYREJECTED`), then the `.ima` lookup (`ENOKEY`), then the signature.
//!
//! Library level: the engine's reading is tested in tests/engine.rs and tests/ima_xattr.rs.

use std::path::{Path, PathBuf};
use trustbench::crypto::{default_backend, CryptoProfile};
use trustbench::hash::HashAlgo;
use trustbench::trust::blacklist::HashKind;
use trustbench::trust::store::{AddMode, Store};
use trustbench::trust::KernelConfig;
use trustbench::verify::ima::{self, ImaPolicy, ImaRule, ImaSourceMode, Label};
use trustbench::verify::{ImaSource, Verdict, VerdictClass};
use trustbench::Errno;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpora/fixtures")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A store trusting the RSA-2048 fixture signer (builtin and `.ima`), with `profile`;
/// with `ima_blacklist`, `.ima_blacklist` exists and holds the same certificate.
fn store(profile: CryptoProfile, ima_blacklist: bool) -> Store {
    let config = KernelConfig {
        ima_blacklist,
        ..KernelConfig::default()
    };
    let mut s = Store::new(config, profile, default_backend());
    let der = read("signer-rsa2048.der");
    let sys = s.system();
    s.add_cert(sys.builtin, &der, AddMode::Bypass).unwrap();
    s.add_cert(sys.ima, &der, AddMode::Bypass).unwrap();
    if ima_blacklist {
        let bl = sys.ima_blacklist.expect(".ima_blacklist configured");
        s.add_cert(bl, &der, AddMode::Bypass).unwrap();
    }
    s
}

fn full() -> Store {
    store(CryptoProfile::full(), false)
}

/// The fixture file and its evmctl signature (type 3, v2, sha256).
fn good() -> (Vec<u8>, Vec<u8>) {
    let sig = read("ima-rsa2048-sha256.bin.sig");
    assert_eq!(&sig[..3], &[3, 2, 4], "evmctl v2 sha256 signature");
    (read("ima-rsa2048-sha256.bin"), sig)
}

const IMASIG: ImaPolicy = ImaPolicy {
    check_blacklist: false,
    rule: ImaRule::Imasig,
};
const BLACKLIST: ImaPolicy = ImaPolicy {
    check_blacklist: true,
    rule: ImaRule::Imasig,
};
const HASH: ImaPolicy = ImaPolicy {
    check_blacklist: false,
    rule: ImaRule::Hash,
};

fn judge(s: &Store, content: &[u8], label: Option<&[u8]>, p: ImaPolicy) -> Verdict {
    ima::verify_ima(s, content, label, p)
}

/// A verdict's class and errno.
type Outcome = (VerdictClass, Option<Errno>);

fn outcome(v: &Verdict) -> Outcome {
    (v.class, v.errno)
}

fn invalid(e: Errno) -> Outcome {
    (VerdictClass::Invalid, Some(e))
}

const VALID: Outcome = (VerdictClass::Valid, None);
const UNSIGNED: Outcome = (VerdictClass::Unsigned, Some(Errno::ENODATA));

fn with(sig: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = sig.to_vec();
    edit(&mut v);
    v
}

fn sha(h: HashAlgo, data: &[u8]) -> Vec<u8> {
    h.digest(data).unwrap().as_bytes().to_vec()
}

fn type4(h: HashAlgo, hash: &[u8]) -> Vec<u8> {
    [&[4u8, h.kernel_id()][..], hash].concat()
}

/// Decision 1: The collect step comes first: a hash the label names but the kernel lacks fails
/// with ENOPKG before the header's length, the key lookup or the imasig requirement.
#[test]
fn a_named_hash_the_kernel_lacks_fails_before_anything_else() {
    let (content, sig) = good();
    let no512 = store(CryptoProfile::parse("rsa,sha256,sha1").unwrap(), false);
    let sha512_bad_size = with(&sig, |v| {
        v[2] = 6;
        v[8] ^= 1;
    });
    // With sha512 available the header's sig_size decides.
    assert_eq!(
        outcome(&judge(&full(), &content, Some(&sha512_bad_size), IMASIG)),
        invalid(Errno::EBADMSG)
    );
    assert_eq!(
        outcome(&judge(&no512, &content, Some(&sha512_bad_size), IMASIG)),
        invalid(Errno::ENOPKG)
    );
    let sha512_unknown_key = with(&sig, |v| {
        v[2] = 6;
        v[6] ^= 0xff;
    });
    assert_eq!(
        outcome(&judge(&no512, &content, Some(&sha512_unknown_key), IMASIG)),
        invalid(Errno::ENOPKG)
    );
    // A type-4 label naming sha512: the collect step fails before "IMA-signature-required".
    let t4 = type4(HashAlgo::Sha512, &[0; 64]);
    assert_eq!(
        outcome(&judge(&no512, &content, Some(&t4), IMASIG)),
        invalid(Errno::ENOPKG)
    );
    assert_eq!(
        outcome(&judge(&full(), &content, Some(&t4), IMASIG)),
        invalid(Errno::EINVAL)
    );
    // md5 (a 21-byte type-1 value with a zero tail, or a 17-byte one): hashed with md5,
    // which this kernel has (/proc/crypto) — a profile without it fails first.
    let mut md5 = vec![1u8; 21];
    md5[17..].fill(0);
    let short = vec![1u8; 17];
    for (v, p) in [(&md5, IMASIG), (&md5, HASH), (&short, HASH)] {
        assert_eq!(
            outcome(&judge(&no512, &content, Some(v), p)),
            invalid(Errno::ENOPKG)
        );
    }
    assert_eq!(
        outcome(&judge(&full(), &content, Some(&md5), IMASIG)),
        invalid(Errno::EINVAL)
    );
    for v in [&md5, &short] {
        assert_eq!(
            outcome(&judge(&full(), &content, Some(v), HASH)),
            invalid(Errno::EKEYREJECTED)
        );
    }
    let mut good = vec![1u8];
    good.extend_from_slice(HashAlgo::Md5.digest(&content).unwrap().as_bytes());
    assert_eq!(
        judge(&full(), &content, Some(&good), HASH).class,
        VerdictClass::Valid
    );
    good.extend_from_slice(&[0; 4]);
    assert_eq!(
        judge(&full(), &content, Some(&good), HASH).class,
        VerdictClass::Valid
    );
    // A header that names no algorithm (version 3 in a type-3 value) falls back to the
    // boot default, which is always there: the version check decides.
    let v3 = with(&sig, |v| {
        v[1] = 3;
        v[2] = 6;
    });
    assert_eq!(
        outcome(&judge(&no512, &content, Some(&v3), IMASIG)),
        invalid(Errno::EINVAL)
    );
}

/// Decision 2: `ima_check_blacklist` runs before `ima_appraise_measurement`: a blacklisted digest
/// (collected with `ima_get_hash_algo`'s algorithm) is EPERM whatever the label holds; only
/// imasig rules consult it.
#[test]
fn the_binary_blacklist_comes_before_appraisal() {
    let (content, sig) = good();
    let mut s = full();
    s.add_blacklist_hash(HashKind::Bin, &sha(HashAlgo::Sha256, &content))
        .unwrap();
    let unknown_key = with(&sig, |v| v[6] ^= 0xff);
    let bad_size = with(&sig, |v| v[8] ^= 1);
    let matching = type4(HashAlgo::Sha256, &sha(HashAlgo::Sha256, &content));
    let unknown_type = with(&sig, |v| v[0] = 2);
    let v3 = with(&sig, |v| v[1] = 3);
    let labels: [(&str, Option<&[u8]>, Outcome); 7] = [
        ("good signature", Some(&sig), VALID),
        ("unknown keyid", Some(&unknown_key), invalid(Errno::ENOKEY)),
        ("bad sig_size", Some(&bad_size), invalid(Errno::EBADMSG)),
        ("no label", None, UNSIGNED),
        (
            "matching type-4 hash",
            Some(&matching),
            invalid(Errno::EINVAL),
        ),
        ("unknown type", Some(&unknown_type), invalid(Errno::EINVAL)),
        ("type 3 version 3", Some(&v3), invalid(Errno::EINVAL)),
    ];
    for (what, label, without) in labels {
        let v = judge(&s, &content, label, BLACKLIST);
        assert_eq!(outcome(&v), invalid(Errno::EPERM), "{what}: {}", v.reason);
        assert!(
            v.reason.starts_with("blacklisted-hash"),
            "{what}: {}",
            v.reason
        );
        assert_eq!(
            outcome(&judge(&s, &content, label, IMASIG)),
            without,
            "{what}"
        );
    }
    // No imasig, no blacklist (the kernel refuses check_blacklist on such a rule).
    let hash_bl = ImaPolicy {
        check_blacklist: true,
        rule: ImaRule::Hash,
    };
    assert_eq!(outcome(&judge(&s, &content, Some(&sig), hash_bl)), VALID);
    assert_eq!(
        outcome(&judge(&s, &content, Some(&matching), hash_bl)),
        VALID
    );
    // The digest the blacklist sees is the one collected with the header's algorithm.
    let sha512_header = with(&sig, |v| v[2] = 6);
    let v = judge(&s, &content, Some(&sha512_header), BLACKLIST);
    assert_eq!(outcome(&v), invalid(Errno::EBADMSG), "{}", v.reason);
    s.add_blacklist_hash(HashKind::Bin, &sha(HashAlgo::Sha512, &content))
        .unwrap();
    assert_eq!(
        outcome(&judge(&s, &content, Some(&sha512_header), BLACKLIST)),
        invalid(Errno::EPERM)
    );
}

/// Decision 3: Under imasig a hash label fails "IMA-signature-required" with EINVAL before (and
/// instead of) any comparison: matching, different and short hashes alike, nothing hashed.
#[test]
fn hash_labels_under_imasig_fail_without_comparing() {
    let (content, _) = good();
    let d = sha(HashAlgo::Sha256, &content);
    let mut legacy = vec![1u8];
    legacy.extend(sha(HashAlgo::Sha1, &content));
    for label in [
        type4(HashAlgo::Sha256, &d),
        type4(HashAlgo::Sha256, &with(&d, |v| v[0] ^= 1)),
        type4(HashAlgo::Sha256, &d[..10]),
        vec![4],
        legacy,
    ] {
        let v = judge(&full(), &content, Some(&label), IMASIG);
        assert_eq!(outcome(&v), invalid(Errno::EINVAL), "{label:02x?}");
        assert!(
            v.reason.starts_with("IMA-signature-required"),
            "{}",
            v.reason
        );
        assert_eq!(v.digest, None, "nothing was hashed");
        assert_eq!(v.signer, None);
    }
}

/// Decision 4: The hash rule: `ima_get_hash_algo`'s digest against the first digest-length bytes of
/// the stored hash.
#[test]
fn hash_labels_under_the_hash_rule_compare_a_prefix() {
    let (content, _) = good();
    let s = full();
    let d256 = sha(HashAlgo::Sha256, &content);
    let d512 = sha(HashAlgo::Sha512, &content);
    let d1 = sha(HashAlgo::Sha1, &content);
    let cases: Vec<(&str, Vec<u8>, Outcome)> = vec![
        ("type 4 sha256", type4(HashAlgo::Sha256, &d256), VALID),
        ("type 4 sha512", type4(HashAlgo::Sha512, &d512), VALID),
        (
            "trailing bytes ignored",
            type4(HashAlgo::Sha256, &[&d256[..], &[0xee; 7]].concat()),
            VALID,
        ),
        (
            "different",
            type4(HashAlgo::Sha256, &with(&d256, |v| v[31] ^= 0x80)),
            invalid(Errno::EKEYREJECTED),
        ),
        (
            "short",
            type4(HashAlgo::Sha256, &d256[..31]),
            invalid(Errno::EINVAL),
        ),
        ("type 4, no hash", vec![4, 4], invalid(Errno::EINVAL)),
        ("one byte", vec![4], invalid(Errno::EINVAL)),
        (
            "sha512 named, sha256 stored",
            type4(HashAlgo::Sha512, &d256),
            invalid(Errno::EINVAL),
        ),
        // Byte 1 ≥ 23 names no algorithm: the boot default (sha256) is compared.
        ("algo 23", [&[4u8, 23][..], &d256].concat(), VALID),
        ("algo 255", [&[4u8, 255][..], &d256].concat(), VALID),
        // Type 1: 21 bytes are sha1; any other length the boot default.
        ("type 1 sha1", [&[1u8][..], &d1].concat(), VALID),
        ("type 1 sha256", [&[1u8][..], &d256].concat(), VALID),
        (
            "type 1 sha1, changed",
            [&[1u8][..], &with(&d1, |v| v[0] ^= 1)].concat(),
            invalid(Errno::EKEYREJECTED),
        ),
        (
            "type 1, 20 bytes (sha256 expected)",
            [&[1u8][..], &d1[..19]].concat(),
            invalid(Errno::EINVAL),
        ),
    ];
    for (what, label, want) in cases {
        let v = judge(&s, &content, Some(&label), HASH);
        assert_eq!(outcome(&v), want, "{what}: {}", v.reason);
        assert_eq!(v.signer, None, "{what}: a hash has no signer");
        match want.0 {
            VerdictClass::Valid => assert!(v.digest.is_some(), "{what}"),
            _ => assert!(v.reason.starts_with("invalid-hash"), "{what}: {}", v.reason),
        }
    }
    // Signatures are verified as under imasig.
    let (_, sig) = good();
    let v = judge(&s, &content, Some(&sig), HASH);
    assert_eq!(outcome(&v), VALID);
    assert!(v.signer.is_some());
}

/// Decision 5: Type 3: the version decides before any length; the dispatcher's EOPNOTSUPP before
/// asymmetric_verify's lengths; the total length before sig_size; sig_size before the hash
/// algorithm; the algorithm before the key lookup.
#[test]
fn signature_header_checks_run_in_the_kernels_order() {
    let (content, sig) = good();
    let s = full();
    let cases: Vec<(&str, Vec<u8>, Errno)> = vec![
        ("v3 in type 3, 5 bytes", vec![3, 3, 4, 0, 0], Errno::EINVAL),
        (
            "v255 in type 3, bad size",
            with(&sig, |v| {
                v[1] = 255;
                v[8] ^= 1;
            }),
            Errno::EINVAL,
        ),
        ("v2 in type 6, 5 bytes", vec![6, 2, 4, 0, 0], Errno::EINVAL),
        ("v3 in type 6, short", vec![6, 3, 4, 0, 0], Errno::EBADMSG),
        ("v0, 5 bytes", vec![3, 0, 4, 0, 0], Errno::EOPNOTSUPP),
        (
            "v0, bad algo",
            with(&sig, |v| {
                v[1] = 0;
                v[2] = 200;
            }),
            Errno::EOPNOTSUPP,
        ),
        ("one byte", vec![3], Errno::EINVAL),
        ("v2, 2 bytes", vec![3, 2], Errno::EBADMSG),
        (
            "v2, header only, algo 23",
            with(&sig[..9], |v| v[2] = 23),
            Errno::EBADMSG,
        ),
        (
            "bad sig_size and algo 23",
            with(&sig, |v| {
                v[2] = 23;
                v[8] ^= 1;
            }),
            Errno::EBADMSG,
        ),
        (
            "algo 23 and unknown keyid",
            with(&sig, |v| {
                v[2] = 23;
                v[6] ^= 0xff;
            }),
            Errno::ENOPKG,
        ),
        (
            "unknown keyid and bad signature",
            with(&sig, |v| {
                v[6] ^= 0xff;
                let n = v.len();
                v[n - 1] ^= 1;
            }),
            Errno::ENOKEY,
        ),
    ];
    for (what, label, want) in cases {
        let v = judge(&s, &content, Some(&label), IMASIG);
        assert_eq!(outcome(&v), invalid(want), "{what}: {}", v.reason);
    }
}

/// Decision 6: `request_asymmetric_key` looks in `.ima_blacklist` before `.ima`, and both before the
/// signature is checked: a listed key rejects (EKEYREJECTED) even a valid signature, and a
/// corrupt signature by a listed key is EKEYREJECTED too, without a verification.
#[test]
fn ima_blacklist_keyring_comes_before_the_lookup_and_the_signature() {
    let (content, sig) = good();
    let s = store(CryptoProfile::full(), true);
    let corrupt = with(&sig, |v| {
        let n = v.len();
        v[n - 1] ^= 1;
    });
    for label in [&sig, &corrupt] {
        let v = judge(&s, &content, Some(label), IMASIG);
        assert_eq!(outcome(&v), invalid(Errno::EKEYREJECTED), "{}", v.reason);
        assert_eq!(v.signer, None, "no key was taken from .ima");
    }
    // Header checks still come first.
    let bad_size = with(&sig, |v| v[8] ^= 1);
    assert_eq!(
        outcome(&judge(&s, &content, Some(&bad_size), IMASIG)),
        invalid(Errno::EBADMSG)
    );
    // Without the keyring the same signature verifies.
    assert_eq!(
        outcome(&judge(&full(), &content, Some(&sig), IMASIG)),
        VALID
    );
}

/// No label: unsigned, with the kernel's cause for the rule, and a reason that says what
/// was (not) found — an empty sidecar is not a missing one.
#[test]
fn unlabelled_files_name_the_kernel_cause_and_what_was_found() {
    let (content, _) = good();
    let s = full();
    let cases = [
        (
            Label::Absent(ImaSourceMode::Auto),
            "no security.ima xattr and no .sig sidecar",
        ),
        (Label::Absent(ImaSourceMode::Xattr), "no security.ima xattr"),
        (Label::Absent(ImaSourceMode::Sidecar), "no .sig sidecar"),
        (Label::Found(ImaSource::Xattr, &[]), "security.ima is empty"),
        (
            Label::Found(ImaSource::Sidecar, &[]),
            "the .sig sidecar is empty",
        ),
    ];
    for (label, says) in cases {
        for (p, cause) in [
            (IMASIG, "IMA-signature-required: "),
            (HASH, "missing-hash: "),
        ] {
            let v = ima::appraise(&s, &content, label, p);
            assert_eq!(outcome(&v), UNSIGNED, "{label:?}");
            assert!(v.reason.starts_with(cause), "{label:?}: {}", v.reason);
            assert!(v.reason.contains(says), "{label:?}: {}", v.reason);
            let source = match label {
                Label::Found(src, _) => Some(src),
                Label::Absent(_) => None,
            };
            assert_eq!(v.ima_source, source);
        }
    }
    let v = ima::appraise(&s, &content, Label::Found(ImaSource::Sidecar, &[]), IMASIG);
    assert!(
        !v.reason.contains("no .sig"),
        "an empty sidecar exists: {}",
        v.reason
    );
}

/// Malformed labels never panic: every type byte 0..=8 and 255 with every length up to 80
/// (bytes drawn from the real signature, zeros and 0xff), under every rule and blacklist
/// setting, give one verdict each.
#[test]
fn any_label_bytes_give_a_verdict() {
    let (content, sig) = good();
    let mut s = full();
    s.add_blacklist_hash(HashKind::Bin, &sha(HashAlgo::Sha1, &content))
        .unwrap();
    let policies = [IMASIG, BLACKLIST, HASH];
    let mut n = 0;
    for ty in (0u8..=8).chain([255]) {
        for len in 1..80usize {
            for fill in [None, Some(0u8), Some(0xff)] {
                let mut v: Vec<u8> = match fill {
                    None => sig.iter().copied().cycle().take(len).collect(),
                    Some(b) => vec![b; len],
                };
                v[0] = ty;
                for p in policies {
                    let verdict = judge(&s, &content, Some(&v), p);
                    assert_eq!(verdict.ima_source, Some(ImaSource::Xattr));
                    n += 1;
                }
            }
        }
    }
    assert!(n > 7000);
}
