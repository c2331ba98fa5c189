//! IMA appraisal of one file's `security.ima` label — the kernel's rule, in one place:
//! `process_measurement` (collect the file digest, check the binary blacklist) →
//! `ima_appraise_measurement` (no label) → `xattr_verify` (hash xattrs, signatures,
//! unknown data), security/integrity/ima/ima_main.c and ima_appraise.c, Linux 6.18.
//! Signature verification proper (`integrity_digsig_verify` → `asymmetric_verify`) is
//! `verify::digsig`.
//!
//! # The rule
//!
//! The kernel reads only `security.ima`; evmctl's `FILE.sig` sidecar is the user-space
//! stand-in for it (which one the engine reads is [`ImaSourceMode`](crate::verify::ima::ImaSourceMode)). Given the label:
//!
//! 1. **Collect** (`ima_collect_measurement`): the file is hashed with the algorithm
//!    [`ima_get_hash_algo`](crate::verify::ima::ima_get_hash_algo) picks from the label (the boot default, sha256, when the label
//!    names none). An algorithm the label names that the crypto profile lacks fails here,
//!    first, whatever else is wrong with the label: `ENOPKG` (the kernel fails to allocate
//!    the hash). The
//!    boot default is taken to be available (a kernel that lacks its configured default
//!    falls back at boot). We hash only when something below looks at the digest; the
//!    verdict is the same.
//! 2. **Blacklist** (`ima_check_blacklist`, before appraisal): only for a rule that
//!    requires a signature (`appraise_type=imasig`; since 6.6 the kernel refuses
//!    `check_blacklist` on any other rule) with `check_blacklist`: a `bin:` entry for the
//!    collected digest → `EPERM`, whatever the label holds (also none, a hash, a bad
//!    signature).
//! 3. **No label** (no xattr, or a zero-length one) → unsigned (`INTEGRITY_NOLABEL`, cause
//!    "IMA-signature-required" under imasig, else "missing-hash").
//! 4. **Type 1 / 4 (a file hash)**: under imasig → invalid "IMA-signature-required" with
//!    `EINVAL` (xattr_verify's rc keeps its initial `-EINVAL`), nothing compared. Under
//!    [`ImaRule::Hash`](crate::verify::ima::ImaRule::Hash) the collected digest is compared with the first digest-length
//!    bytes of the stored hash (trailing bytes ignored): equal → valid, with no signer;
//!    different → invalid "invalid-hash", `EKEYREJECTED` (the kernel's rc is memcmp's
//!    non-zero value, which is no errno: we use the one the kernel gives a digest that
//!    does not match a signature); stored hash shorter than the digest → "invalid-hash",
//!    `EINVAL` (the kernel's rc there).
//! 5. **Type 3 / 6 (a signature)**: the header checks of `formats::imasig::parse`, then
//!    `verify::digsig` (any error → invalid, `EOPNOTSUPP` included, which the kernel
//!    reports as `INTEGRITY_UNKNOWN`).
//! 6. **Any other type** → invalid "unknown-ima-data", `EINVAL` (`INTEGRITY_UNKNOWN` with
//!    rc at its initial `-EINVAL`).
//!
//! Not modelled: EVM (`evm_verifyxattr` before xattr_verify), `IMA_NEW_FILE`, fix mode,
//! modsig, the platform keyring, and the verity rule flags: a type-6 (v3) signature is
//! verified as under `digest_type=verity appraise_type=sigv3` (its collected digest is the
//! fs-verity digest), whatever [`ImaRule`](crate::verify::ima::ImaRule) says.

use super::checks::Checks;
use super::{digsig, fsverity, reason_for, ImaSource, ItemKind, Verdict};
use crate::errno::{Errno, KResult};
use crate::formats::imasig;
use crate::hash::{Digest, HashAlgo};
use crate::kernel_profile::Rules;
use crate::timing::{mark, Stage};
use crate::trust::blacklist::HashKind;
use crate::trust::store::Store;

/// What evmctl appends to a file's name for its detached signature (`evmctl ima_sign
/// --sigfile`). The one place the sidecar's name is made: [`sidecar_path`] and the engine's
/// directory-relative open both use it.
pub const SIDECAR_SUFFIX: &str = ".sig";

/// The `.sig` sidecar of `item`, written into `out` (cleared first; its capacity is reused,
/// so the hot path does not allocate).
pub fn sidecar_path_into(item: &std::path::Path, out: &mut std::ffi::OsString) {
    out.clear();
    out.push(item.as_os_str());
    out.push(SIDECAR_SUFFIX);
}

/// The `.sig` sidecar of `item` (for messages and tools; the hot path uses
/// [`sidecar_path_into`]).
pub fn sidecar_path(item: &std::path::Path) -> std::path::PathBuf {
    let mut p = std::ffi::OsString::new();
    sidecar_path_into(item, &mut p);
    p.into()
}

/// Whether `path` names a sidecar (such files are signatures, never items themselves).
pub fn is_sidecar(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|x| x == &SIDECAR_SUFFIX[1..])
}

/// `ima_hash_algo` as this model boots it (`CONFIG_IMA_DEFAULT_HASH`, sha256): the
/// algorithm a file is hashed with when its label names none.
pub const BOOT_DEFAULT_HASH: HashAlgo = HashAlgo::Sha256;

/// `HASH_ALGO__LAST`: hash algorithm numbers at or above it name no algorithm.
const HASH_ALGO_LAST: u8 = 23;

/// Which appraisal rule the IMA policy applies to the files: the one choice of the policy
/// rule that changes how `security.ima` is judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ImaRule {
    /// `appraise_type=imasig`: only a signature appraises a file; a hash xattr fails
    /// ("IMA-signature-required"). The default, as distributions' policies appraise.
    #[default]
    Imasig,
    /// A rule without `appraise_type=imasig` (`--ima-accept-hash`): a hash xattr (type 1
    /// or 4) that matches the file appraises it; signatures are verified as under imasig.
    Hash,
}

impl ImaRule {
    /// The name in reports and JSON records (`"ima_rule"`): `imasig` or `hash`.
    pub fn name(self) -> &'static str {
        match self {
            ImaRule::Imasig => "imasig",
            ImaRule::Hash => "hash",
        }
    }

    /// The rule [`ImaRule::name`] names (reports read back).
    pub fn from_name(s: &str) -> Option<ImaRule> {
        [ImaRule::Imasig, ImaRule::Hash]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// Where an IMA item's label may come from (`--ima-source`). The kernel reads only
/// `security.ima`; `.sig` sidecars stand in for it on file systems without security
/// xattrs, or for corpora copied around.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ImaSourceMode {
    /// The xattr when the file has one (of any length, zero included: an empty xattr is
    /// "no label" and the sidecar is then not consulted), else the sidecar.
    #[default]
    Auto,
    /// Only `security.ima`: never the sidecar (what the kernel sees).
    Xattr,
    /// Only the `.sig` sidecar: never the xattr.
    Sidecar,
}

impl ImaSourceMode {
    /// The name in options and reports: `auto`, `xattr` or `sidecar`.
    pub fn name(self) -> &'static str {
        match self {
            ImaSourceMode::Auto => "auto",
            ImaSourceMode::Xattr => "xattr",
            ImaSourceMode::Sidecar => "sidecar",
        }
    }

    /// The mode [`ImaSourceMode::name`] names (reports read back).
    pub fn from_name(s: &str) -> Option<ImaSourceMode> {
        [
            ImaSourceMode::Auto,
            ImaSourceMode::Xattr,
            ImaSourceMode::Sidecar,
        ]
        .into_iter()
        .find(|m| m.name() == s)
    }

    /// Whether `security.ima` is read at all.
    pub fn reads_xattr(self) -> bool {
        self != ImaSourceMode::Sidecar
    }

    /// Whether the sidecar is read when the xattr did not decide.
    pub fn reads_sidecar(self) -> bool {
        self != ImaSourceMode::Xattr
    }
}

/// IMA policy choices that change the verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImaPolicy {
    /// The rule's `check_blacklist` flag: a `bin:` entry for the file digest fails `EPERM`
    /// before appraisal. Only a rule that requires a signature has it (the kernel refuses
    /// it on others), so it does nothing under [`ImaRule::Hash`].
    pub check_blacklist: bool,
    /// Whether a signature is required (`imasig`) or a matching hash xattr is enough.
    pub rule: ImaRule,
}

impl ImaPolicy {
    /// Whether the binary blacklist is consulted (step 2 of the rule).
    fn checks_blacklist(self) -> bool {
        self.check_blacklist && self.rule == ImaRule::Imasig
    }
}

/// An IMA item's label as the engine found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label<'a> {
    /// None of the sources the mode allows has one.
    Absent(ImaSourceMode),
    /// The value from this source; may be empty (then it is "no label").
    Found(ImaSource, &'a [u8]),
}

/// `ima_get_hash_algo`: the algorithm the kernel hashes the file with, from the label
/// (`None`: no label):
///
/// * shorter than 2 bytes → the boot default;
/// * type 3 (v2 signature; from 7.1 also v3) / type 6 (v3): the header's algorithm when
///   the version is one of those, the value is longer than the 9-byte header and the
///   algorithm is < 23; else the boot default;
/// * type 4: byte 1 when it is < 23, else the boot default;
/// * type 1 (legacy): md5 for a 21-byte value whose bytes 17..21 are zero (old kernels
///   padded a 16-byte md5 to 20) and for a 17-byte value; sha1 for any other 21-byte
///   value; otherwise the boot default;
/// * any other type → the boot default.
///
/// An algorithm number that `HashAlgo` knows but trustbench cannot compute (md4, rmd160,
/// …) is returned as it is; hashing with it then fails (`ENOPKG`), as with a crypto
/// profile that lacks it.
pub fn ima_get_hash_algo(label: Option<&[u8]>, rules: &Rules) -> HashAlgo {
    named_algo(label, rules).unwrap_or(BOOT_DEFAULT_HASH)
}

/// The algorithm the label itself names for [`ima_get_hash_algo`] (`None`: the boot default
/// applies).
fn named_algo(label: Option<&[u8]>, rules: &Rules) -> Option<HashAlgo> {
    let v = label.filter(|v| v.len() >= 2)?;
    let named = |id: u8| HashAlgo::from_kernel_id(id).ok();
    match v[0] {
        imasig::TYPE_DIGSIG | imasig::TYPE_VERITY_DIGSIG if header_names(v, rules) => named(v[2]),
        imasig::TYPE_DIGEST_NG if v[1] < HASH_ALGO_LAST => named(v[1]),
        imasig::TYPE_DIGEST => match v.len() {
            21 if v[17..21] == [0, 0, 0, 0] => Some(HashAlgo::Md5),
            21 => Some(HashAlgo::Sha1),
            17 => Some(HashAlgo::Md5),
            _ => None,
        },
        _ => None,
    }
}

/// Appraises `content` against `xattr`, the file's `security.ima` value (`None`: it has
/// none) — the in-memory entry point for benches and tools; the engine calls [`appraise`]
/// with the label it read.
pub fn verify_ima(
    store: &Store,
    content: &[u8],
    xattr: Option<&[u8]>,
    policy: ImaPolicy,
) -> Verdict {
    let label = match xattr {
        Some(v) => Label::Found(ImaSource::Xattr, v),
        None => Label::Absent(ImaSourceMode::Xattr),
    };
    appraise(store, content, label, policy)
}

/// The kernel's appraisal of `content` with `label` under `policy` (the rule in the
/// module documentation). The verdict names the label's source.
pub fn appraise(store: &Store, content: &[u8], label: Label<'_>, policy: ImaPolicy) -> Verdict {
    appraise_with(store, content, label, policy, &mut Checks::default())
}

/// [`appraise`], with the signature check done as `checks` says (at once, or deferred
/// into a batch: the engine's batched pipeline).
pub fn appraise_with(
    store: &Store,
    content: &[u8],
    label: Label<'_>,
    policy: ImaPolicy,
    checks: &mut Checks,
) -> Verdict {
    mark(Stage::Parse);
    let before = crate::crypto::unsupported_count();
    let (source, value) = match label {
        Label::Absent(_) => (None, None),
        Label::Found(s, v) => (Some(s), Some(v).filter(|v| !v.is_empty())),
    };
    let v = match value {
        None => no_label(store, content, label, policy),
        Some(v) => labelled(store, content, v, policy, checks),
    };
    v.with_source(source).with_unsupported_since(store, before)
}

/// The verdict of a failed step, with the digest collected so far.
fn fail(e: Errno, reason: &'static str, digest: Option<Digest>) -> Verdict {
    Verdict::invalid(ItemKind::Ima, e, reason).with_digest(digest)
}

/// Steps 1–2 for a label that needs the digest: collect it with `algo` (the fs-verity
/// digest for a v3 label; the caller checked the profile has `algo`), then the blacklist
/// when the rule checks it.
fn collect(
    store: &Store,
    content: &[u8],
    algo: HashAlgo,
    verity: bool,
    policy: ImaPolicy,
) -> Result<Digest, Verdict> {
    mark(Stage::Digest);
    let digest: KResult<Digest> = if verity {
        fsverity::digest(algo, content)
    } else {
        algo.digest(content)
    };
    let digest = digest.map_err(|e| fail(e, reason_for(e), None))?;
    mark(Stage::Blacklist);
    if policy.checks_blacklist() && store.is_hash_blacklisted(HashKind::Bin, digest.as_bytes()) {
        return Err(fail(
            Errno::EPERM,
            "blacklisted-hash: the file digest is on the blacklist (bin:)",
            Some(digest),
        ));
    }
    Ok(digest)
}

/// No label: the blacklist (when checked) still sees the boot-default digest; then
/// unsigned, with the kernel's cause.
fn no_label(store: &Store, content: &[u8], label: Label<'_>, policy: ImaPolicy) -> Verdict {
    if policy.checks_blacklist() {
        if let Err(v) = collect(store, content, BOOT_DEFAULT_HASH, false, policy) {
            return v;
        }
    }
    Verdict::unsigned(ItemKind::Ima, nolabel_reason(policy.rule, label))
}

/// The reason of an unlabelled file: the kernel's cause, then what was (not) found.
fn nolabel_reason(rule: ImaRule, label: Label<'_>) -> &'static str {
    use ImaRule::{Hash, Imasig};
    use ImaSourceMode as M;
    match (rule, label) {
        (Imasig, Label::Absent(M::Auto)) => {
            "IMA-signature-required: no security.ima xattr and no .sig sidecar"
        }
        (Hash, Label::Absent(M::Auto)) => "missing-hash: no security.ima xattr and no .sig sidecar",
        (Imasig, Label::Absent(M::Xattr)) => "IMA-signature-required: no security.ima xattr",
        (Hash, Label::Absent(M::Xattr)) => "missing-hash: no security.ima xattr",
        (Imasig, Label::Absent(M::Sidecar)) => "IMA-signature-required: no .sig sidecar",
        (Hash, Label::Absent(M::Sidecar)) => "missing-hash: no .sig sidecar",
        (Imasig, Label::Found(ImaSource::Xattr, _)) => {
            "IMA-signature-required: security.ima is empty (no label)"
        }
        (Hash, Label::Found(ImaSource::Xattr, _)) => {
            "missing-hash: security.ima is empty (no label)"
        }
        (Imasig, Label::Found(ImaSource::Sidecar, _)) => {
            "IMA-signature-required: the .sig sidecar is empty (no label)"
        }
        (Hash, Label::Found(ImaSource::Sidecar, _)) => {
            "missing-hash: the .sig sidecar is empty (no label)"
        }
    }
}

/// A non-empty label, by type (`xattr_verify`), after steps 1–2.
fn labelled(
    store: &Store,
    content: &[u8],
    value: &[u8],
    policy: ImaPolicy,
    checks: &mut Checks,
) -> Verdict {
    let named = named_algo(Some(value), &store.rules());
    let algo = named.unwrap_or(BOOT_DEFAULT_HASH);
    if named.is_some() && !store.profile().has_hash(algo) {
        return fail(
            Errno::ENOPKG,
            "the hash algorithm security.ima names is not available (ima_collect_measurement)",
            None,
        );
    }
    let Some(&t) = value.first() else {
        return Verdict::unsigned(ItemKind::Ima, "no label");
    };
    let is_sig = t == imasig::TYPE_DIGSIG || t == imasig::TYPE_VERITY_DIGSIG;
    let is_hash = t == imasig::TYPE_DIGEST || t == imasig::TYPE_DIGEST_NG;
    // Does xattr_verify use the digest? A hash under the hash rule; a signature whose
    // header named the algorithm (else its header checks fail before any digest is used).
    let uses = (is_hash && policy.rule == ImaRule::Hash)
        || (is_sig && header_names(value, &store.rules()));
    let verity = t == imasig::TYPE_VERITY_DIGSIG;
    let collected = if uses || policy.checks_blacklist() {
        match collect(store, content, algo, verity, policy) {
            Ok(d) => Some(d),
            Err(v) => return v,
        }
    } else {
        None
    };
    mark(Stage::Parse);
    if is_hash {
        return hash_xattr(value, collected, policy.rule);
    }
    if !is_sig {
        return fail(
            Errno::EINVAL,
            "unknown-ima-data: security.ima is of an unknown type",
            collected,
        );
    }
    signature(store, content, value, collected, policy, checks)
}

/// Whether a signature header names its algorithm for `ima_get_hash_algo` (the right
/// version for its type, longer than the header, algorithm < 23).
fn header_names(v: &[u8], rules: &Rules) -> bool {
    let [t, version, algo, ..] = *v else {
        return false;
    };
    let version_ok = match t {
        imasig::TYPE_DIGSIG => version == 2 || (rules.ima_v3_regular && version == 3),
        _ => version == 3,
    };
    v.len() > imasig::HEADER_LEN && version_ok && algo < HASH_ALGO_LAST
}

/// `xattr_verify` for types 1 and 4.
fn hash_xattr(value: &[u8], collected: Option<Digest>, rule: ImaRule) -> Verdict {
    if rule == ImaRule::Imasig {
        return fail(
            Errno::EINVAL,
            "IMA-signature-required: security.ima holds a file hash, not a signature",
            collected,
        );
    }
    let Some(h) = imasig::parse_hash(value) else {
        // Not reached: the caller checked the type.
        return fail(Errno::EINVAL, "unknown-ima-data", collected);
    };
    let Some(d) = collected else {
        // Not reached: the hash rule always collects first.
        return fail(Errno::EINVAL, "invalid-hash: no digest collected", None);
    };
    let n = d.as_bytes().len();
    match h.hash.get(..n) {
        None => fail(
            Errno::EINVAL,
            "invalid-hash: security.ima holds fewer bytes than the file digest",
            Some(d),
        ),
        Some(stored) if stored == d.as_bytes() => Verdict::valid_hash(ItemKind::Ima, d),
        Some(_) => fail(
            Errno::EKEYREJECTED,
            "invalid-hash: the file digest differs from the hash in security.ima",
            Some(d),
        ),
    }
}

/// `xattr_verify` for types 3 and 6: the header, then `verify::digsig`.
fn signature(
    store: &Store,
    content: &[u8],
    value: &[u8],
    collected: Option<Digest>,
    policy: ImaPolicy,
    checks: &mut Checks,
) -> Verdict {
    let sig = match imasig::parse(value, &store.rules()) {
        Ok(s) => s,
        Err(e) => return fail(e, header_reason(value, e), collected),
    };
    // A header that parses names its algorithm (checked against the profile, and the
    // digest collected with it): the fallback below is not reached.
    let collected = match collected {
        Some(d) if d.algo() == sig.hash => d,
        _ => {
            let verity = sig.xattr_type == imasig::TYPE_VERITY_DIGSIG;
            match collect(store, content, sig.hash, verity, policy) {
                Ok(d) => d,
                Err(v) => return v,
            }
        }
    };
    match digsig::verify(store, &sig, &collected, content, checks) {
        Ok((signer, digest)) => Verdict::valid(ItemKind::Ima, signer, Some(digest)),
        Err((e, signer, digest)) => fail(e, reason_for(e), Some(digest)).with_signer(signer),
    }
}

/// The reason for a signature header refused by `imasig::parse`, with the kernel's cause
/// where it names one.
fn header_reason(value: &[u8], e: Errno) -> &'static str {
    match e {
        Errno::EINVAL if value.len() >= 2 => {
            "invalid-signature-version: type 3 signatures are v2 (v3 from 7.1), type 6 signatures v3"
        }
        Errno::EINVAL => "invalid-signature: security.ima is shorter than 2 bytes",
        Errno::EOPNOTSUPP => "unsupported signature version (only v2 and v3 are verified)",
        Errno::EBADMSG => "invalid-signature: malformed header (length or sig_size)",
        Errno::ENOPKG => "invalid-signature: the header names no known hash algorithm",
        _ => "invalid-signature: malformed header",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel_profile::KernelProfile;

    fn ima_get_hash_algo6(label: Option<&[u8]>) -> HashAlgo {
        ima_get_hash_algo(label, &KernelProfile::V6_18.rules())
    }

    #[test]
    fn ima_get_hash_algo_follows_the_kernel() {
        use HashAlgo::*;
        let sig = |t: u8, v: u8, a: u8, len: usize| {
            let mut x = vec![0u8; len];
            x[0] = t;
            x[1] = v;
            x[2] = a;
            x
        };
        assert_eq!(ima_get_hash_algo6(None), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&[])), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&[4])), Sha256);
        // Type 4: byte 1 when < 23.
        assert_eq!(ima_get_hash_algo6(Some(&[4, 2])), Sha1);
        assert_eq!(ima_get_hash_algo6(Some(&[4, 6, 0, 0])), Sha512);
        assert_eq!(ima_get_hash_algo6(Some(&[4, 23])), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&[4, 255])), Sha256);
        // Type 1: by total length.
        let mut t1 = vec![1u8; 21];
        assert_eq!(ima_get_hash_algo6(Some(&t1)), Sha1);
        t1[17..].fill(0);
        assert_eq!(ima_get_hash_algo6(Some(&t1)), Md5);
        t1[16] = 0;
        assert_eq!(ima_get_hash_algo6(Some(&t1)), Md5);
        t1[17] = 1;
        assert_eq!(ima_get_hash_algo6(Some(&t1)), Sha1);
        assert_eq!(ima_get_hash_algo6(Some(&[1u8; 17])), Md5);
        assert_eq!(ima_get_hash_algo6(Some(&[1u8; 33])), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&[1u8; 20])), Sha256);
        // Signatures: the header's algorithm only for the right version and length.
        assert_eq!(ima_get_hash_algo6(Some(&sig(3, 2, 6, 10))), Sha512);
        assert_eq!(ima_get_hash_algo6(Some(&sig(3, 2, 6, 9))), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&sig(3, 3, 6, 10))), Sha256);
        // 7.2 honours version 3 for type 3 (regular-file v3 signatures).
        let new = KernelProfile::V7_2.rules();
        assert_eq!(ima_get_hash_algo(Some(&sig(3, 3, 6, 10)), &new), Sha512);
        assert_eq!(ima_get_hash_algo(Some(&sig(3, 4, 6, 10)), &new), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&sig(3, 2, 23, 10))), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&sig(6, 3, 6, 10))), Sha512);
        assert_eq!(ima_get_hash_algo6(Some(&sig(6, 2, 6, 10))), Sha256);
        // Other types.
        assert_eq!(ima_get_hash_algo6(Some(&sig(2, 2, 6, 10))), Sha256);
        assert_eq!(ima_get_hash_algo6(Some(&sig(5, 2, 6, 10))), Sha256);
    }

    #[test]
    fn names_round_trip() {
        for r in [ImaRule::Imasig, ImaRule::Hash] {
            assert_eq!(ImaRule::from_name(r.name()), Some(r));
        }
        for m in [
            ImaSourceMode::Auto,
            ImaSourceMode::Xattr,
            ImaSourceMode::Sidecar,
        ] {
            assert_eq!(ImaSourceMode::from_name(m.name()), Some(m));
        }
        assert_eq!(ImaRule::default(), ImaRule::Imasig);
        assert_eq!(ImaSourceMode::default(), ImaSourceMode::Auto);
    }
}
