//! `manifest.tsv`: the expected verdict of every item of a generated corpus, one row per
//! item (`path kind class verdict errno`, tab-separated, after a header line), and for
//! corpora with ML-DSA keys or IMA v3 signatures a sixth column, `form`: how the item is
//! signed ([`Form`]), since whether such an item verifies depends on the kernel (ML-DSA
//! module signatures from 7.0, IMA v3 for files from 7.1, ML-DSA IMA from 7.2, the
//! signed-attributes waiver). Their `verdict`/`errno` are what Linux 7.2 without the waiver
//! decides; a profile-aware checker derives other kernels' expectations from the form.
//!
//! Reading a manifest needs no generator: `run --corpus DIR` checks any generated corpus
//! against it, whichever build made the corpus.
//!
//! The verdicts are those of the default IMA rule (`appraise_type=imasig`). Under the hash
//! rule (`run --ima-accept-hash`) an IMA row's expectation follows from its class
//! ([`Expected::expected_under`], [`BadClass::errno_under_hash_rule`]), so one manifest
//! serves both rules and manifests written before the rule existed stay readable.

use super::bad::BadClass;
use crate::algo::{Curve, MlDsa, PkeyAlgo};
use crate::errno::Errno;
use crate::error::Error;
use crate::kernel_profile::KernelProfile;
use crate::verify::ima::ImaRule;
use crate::verify::{ItemKind, Verdict, VerdictClass};
use std::fmt;

/// The first line of a manifest without forms (every RSA/ECDSA, IMA v2 corpus: the format
/// such corpora always had).
pub const HEADER: &str = "path\tkind\tclass\tverdict\terrno";

/// The first line of a manifest whose rows carry their [`Form`].
pub const HEADER_WITH_FORM: &str = "path\tkind\tclass\tverdict\terrno\tform";

/// How an item is signed, as far as a kernel's verdict depends on it: the signer's key
/// algorithm, whether a module signature carries signed attributes, and the IMA signature
/// format version. Written as `-` (no signature: missing, or a hash label), `mldsa65` or
/// `mldsa65+authattrs` for a module, `v3:mldsa65` for an IMA file (the kernel's
/// algorithm names: `rsa`, `ecdsa-nist-p384`, `mldsa44`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Form {
    /// The signing key's algorithm; `None` when the item carries no signature.
    pub algo: Option<PkeyAlgo>,
    /// A module signature with signed (authenticated) attributes.
    pub authattrs: bool,
    /// The IMA signature's version byte (2 or 3); `None` for modules.
    pub ima_version: Option<u8>,
}

impl Form {
    /// No signature at all.
    pub const UNSIGNED: Form = Form {
        algo: None,
        authattrs: false,
        ima_version: None,
    };

    /// A module signature by an `algo` key, with or without signed attributes.
    pub fn module(algo: PkeyAlgo, authattrs: bool) -> Form {
        Form {
            algo: Some(algo),
            authattrs,
            ima_version: None,
        }
    }

    /// An IMA signature of `version` by an `algo` key.
    pub fn ima(algo: PkeyAlgo, version: u8) -> Form {
        Form {
            algo: Some(algo),
            authattrs: false,
            ima_version: Some(version),
        }
    }

    /// Parses the `form` column; `None` for anything [`Form`]'s `Display` does not write.
    pub fn parse(s: &str) -> Option<Form> {
        if s == "-" {
            return Some(Form::UNSIGNED);
        }
        if let Some(rest) = s.strip_prefix('v') {
            let (v, name) = rest.split_once(':')?;
            let version = v.parse::<u8>().ok()?;
            return Some(Form::ima(pkey_algo_named(name)?, version));
        }
        let (name, authattrs) = match s.strip_suffix("+authattrs") {
            Some(n) => (n, true),
            None => (s, false),
        };
        Some(Form::module(pkey_algo_named(name)?, authattrs))
    }
}

/// The key algorithm the kernel names `name` (`rsa`, `ecdsa-nist-p256`, `mldsa65`).
fn pkey_algo_named(name: &str) -> Option<PkeyAlgo> {
    let curves = [Curve::P192, Curve::P256, Curve::P384, Curve::P521].map(PkeyAlgo::Ecdsa);
    std::iter::once(PkeyAlgo::Rsa)
        .chain(curves)
        .chain(MlDsa::ALL.map(PkeyAlgo::MlDsa))
        .find(|a| a.kernel_name() == name)
}

impl fmt::Display for Form {
    /// The `form` column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(algo) = self.algo else {
            return f.write_str("-");
        };
        if let Some(v) = self.ima_version {
            write!(f, "v{v}:")?;
        }
        f.write_str(algo.kernel_name())?;
        if self.authattrs {
            f.write_str("+authattrs")?;
        }
        Ok(())
    }
}

/// One manifest row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Relative to the corpus directory.
    pub path: String,
    /// Module or IMA file: which verifier the item goes to.
    pub kind: ItemKind,
    /// What the generator broke; `None` for a good item (written `good`).
    pub class: Option<BadClass>,
    /// The verdict the kernel would reach.
    pub verdict: VerdictClass,
    /// `None` when valid (written `-`).
    pub errno: Option<Errno>,
    /// How the item is signed, in manifests with the `form` column ([`HEADER_WITH_FORM`]);
    /// `None` in the five-column format.
    pub form: Option<Form>,
}

/// The verdict class an errno gives, as the verifiers decide it: none is valid, ENODATA
/// is unsigned, anything else is invalid.
fn class_of(errno: Option<Errno>) -> VerdictClass {
    match errno {
        None => VerdictClass::Valid,
        Some(Errno::ENODATA) => VerdictClass::Unsigned,
        Some(_) => VerdictClass::Invalid,
    }
}

impl Expected {
    /// A row whose verdict follows from the errno, as the verifiers decide it: none is
    /// valid, ENODATA is unsigned, anything else is invalid.
    pub fn new(
        path: String,
        kind: ItemKind,
        class: Option<BadClass>,
        errno: Option<Errno>,
    ) -> Self {
        let verdict = class_of(errno);
        Expected {
            path,
            kind,
            class,
            verdict,
            errno,
            form: None,
        }
    }

    /// Whether the row's verdict is the one a kernel with `profile` reaches. Rows without a
    /// form (RSA and ECDSA corpora with v2 IMA signatures) hold under every profile. The
    /// generator writes rows with a form as Linux 7.2 without the signed-attributes waiver
    /// decides: a 6.18 kernel cannot even load their ML-DSA certificates, and the waiver
    /// changes the rows with signed attributes (which it may accept, with sha512).
    pub fn predicted_under(&self, profile: KernelProfile) -> bool {
        match self.form {
            None => true,
            Some(f) => profile.rules().mldsa && !(profile.waive_mldsa_authattrs && f.authattrs),
        }
    }

    /// The row with its [`Form`] recorded (written as the sixth column).
    pub fn with_form(mut self, form: Form) -> Self {
        self.form = Some(form);
        self
    }

    /// Whether `v` is this row's verdict: the same class and the same errno.
    pub fn matches(&self, v: &Verdict) -> bool {
        v.class == self.verdict && v.errno == self.errno
    }

    /// The verdict and errno expected under `rule`: the row's own under imasig (and for
    /// modules); under the hash rule, what the item's class gives there.
    pub fn expected_under(&self, rule: ImaRule) -> (VerdictClass, Option<Errno>) {
        let changed = match (rule, self.kind, self.class) {
            (ImaRule::Hash, ItemKind::Ima, Some(c)) => c.errno_under_hash_rule(),
            _ => None,
        };
        match changed {
            Some(errno) => (class_of(errno), errno),
            None => (self.verdict, self.errno),
        }
    }

    /// Whether `v` is this row's verdict under `rule` ([`Expected::expected_under`]).
    pub fn matches_under(&self, rule: ImaRule, v: &Verdict) -> bool {
        (v.class, v.errno) == self.expected_under(rule)
    }

    /// The `class` column: the bad class's name, or `good`.
    pub fn class_name(&self) -> &'static str {
        self.class.map_or("good", BadClass::name)
    }

    /// The row as written to `manifest.tsv` (without the newline).
    pub fn tsv_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Expected {
    /// The `manifest.tsv` row.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\t{}\t{}\t{}\t",
            self.path,
            self.kind.name(),
            self.class_name(),
            self.verdict.name()
        )?;
        match self.errno {
            None => f.write_str("-")?,
            Some(e) => write!(f, "{e}")?,
        }
        match self.form {
            None => Ok(()),
            Some(form) => write!(f, "\t{form}"),
        }
    }
}

/// Parses a `manifest.tsv`.
pub fn read_manifest(text: &str) -> Result<Vec<Expected>, Error> {
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(e) = parse_manifest_line(i + 1, line)? {
            v.push(e);
        }
    }
    Ok(v)
}

/// Parses one manifest line (1-based `number`); `None` for the header, blank lines and
/// comments. Used line by line when a huge manifest is streamed.
pub fn parse_manifest_line(number: usize, line: &str) -> Result<Option<Expected>, Error> {
    if number == 1 || line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let err = |message: String| Error::Manifest {
        line: number,
        message,
    };
    // Five fields (six with the form), split without collecting them: a manifest is read
    // again every pass.
    let mut f = line.split('\t');
    let (Some(path), Some(kind), Some(class), Some(verdict), Some(errno), form, None) = (
        f.next(),
        f.next(),
        f.next(),
        f.next(),
        f.next(),
        f.next(),
        f.next(),
    ) else {
        return Err(err("expected 5 fields (6 with the form)".into()));
    };
    let form = match form {
        None => None,
        Some(s) => Some(Form::parse(s).ok_or_else(|| err(format!("unknown form '{s}'")))?),
    };
    let kind = [ItemKind::Module, ItemKind::Ima]
        .into_iter()
        .find(|k| k.name() == kind)
        .ok_or_else(|| err(format!("unknown kind '{kind}'")))?;
    let class = match class {
        "good" => None,
        c => Some(BadClass::from_name(c).ok_or_else(|| err(format!("unknown bad class '{c}'")))?),
    };
    let verdict = [
        VerdictClass::Valid,
        VerdictClass::Unsigned,
        VerdictClass::Invalid,
    ]
    .into_iter()
    .find(|v| v.name() == verdict)
    .ok_or_else(|| err(format!("unknown verdict '{verdict}'")))?;
    let errno = match errno {
        "-" => None,
        e => Some(Errno::from_name(e).ok_or_else(|| err(format!("unknown errno '{e}'")))?),
    };
    Ok(Some(Expected {
        path: path.to_string(),
        kind,
        class,
        verdict,
        errno,
        form,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "path\tkind\tclass\tverdict\terrno
modules/m000000.ko\tmodule\tgood\tvalid\t-
modules/m000001.ko\tmodule\ttruncated-trailer\tunsigned\tENODATA
files/f000000.bin\tima\tkeyid-collision\tinvalid\tEINVAL
files/f000001.bin\tima\ttampered\tinvalid\tE#300
";

    #[test]
    fn rows_round_trip_byte_for_byte() {
        let rows = read_manifest(TEXT).unwrap();
        assert_eq!(rows.len(), 4);
        let mut out = format!("{HEADER}\n");
        for r in &rows {
            out.push_str(&r.tsv_line());
            out.push('\n');
        }
        assert_eq!(out, TEXT);
        assert_eq!(rows[0].class, None);
        assert_eq!(rows[1].kind, ItemKind::Module);
        assert_eq!(rows[2].class, Some(BadClass::KeyidCollision));
        assert_eq!(rows[3].errno, Some(Errno::Other(300)));
        // Every class and errno the generator writes survives a round trip.
        for c in BadClass::ALL {
            for &(e, _, _) in Errno::ALL {
                let r = Expected::new("p".into(), ItemKind::Ima, Some(c), Some(e));
                assert_eq!(parse_manifest_line(2, &r.tsv_line()).ok(), Some(Some(r)));
            }
        }
    }

    #[test]
    fn forms_round_trip_in_the_sixth_column() {
        let forms = [
            Form::UNSIGNED,
            Form::module(PkeyAlgo::MlDsa(MlDsa::L65), false),
            Form::module(PkeyAlgo::MlDsa(MlDsa::L87), true),
            Form::module(PkeyAlgo::Ecdsa(Curve::P384), false),
            Form::ima(PkeyAlgo::MlDsa(MlDsa::L44), 3),
            Form::ima(PkeyAlgo::Rsa, 2),
        ];
        let names: Vec<String> = forms.iter().map(Form::to_string).collect();
        assert_eq!(
            names,
            [
                "-",
                "mldsa65",
                "mldsa87+authattrs",
                "ecdsa-nist-p384",
                "v3:mldsa44",
                "v2:rsa"
            ]
        );
        for form in forms {
            assert_eq!(Form::parse(&form.to_string()), Some(form));
            let r = Expected::new("m.ko".into(), ItemKind::Module, None, Some(Errno::ENOPKG))
                .with_form(form);
            let line = r.tsv_line();
            assert_eq!(line.split('\t').count(), 6, "{line}");
            assert_eq!(parse_manifest_line(2, &line).ok(), Some(Some(r)));
        }
        assert_eq!(HEADER_WITH_FORM.split('\t').count(), 6);
        assert!(HEADER_WITH_FORM.starts_with(HEADER));
    }

    #[test]
    fn matches_compares_class_and_errno() {
        let rows = read_manifest(TEXT).unwrap();
        let valid = Verdict {
            kind: ItemKind::Module,
            class: VerdictClass::Valid,
            errno: None,
            reason: "",
            signer: None,
            digest: None,
            ima_source: None,
            backend_unsupported: false,
        };
        assert!(rows[0].matches(&valid));
        assert!(!rows[1].matches(&valid));
        let unsigned = Verdict::unsigned(ItemKind::Module, "no trailer");
        assert!(rows[1].matches(&unsigned));
        assert!(!rows[2].matches(&Verdict::invalid(ItemKind::Ima, Errno::EBADMSG, "")));
        assert!(rows[2].matches(&Verdict::invalid(ItemKind::Ima, Errno::EINVAL, "")));
    }

    #[test]
    fn the_hash_rule_changes_only_hash_labels_and_blacklisted_hashes() {
        let row = |class: &str, verdict: &str, errno: &str| {
            parse_manifest_line(2, &format!("f.bin\tima\t{class}\t{verdict}\t{errno}"))
                .unwrap()
                .unwrap()
        };
        let hash = row("ima-hash", "invalid", "EINVAL");
        assert_eq!(
            hash.expected_under(ImaRule::Imasig),
            (VerdictClass::Invalid, Some(Errno::EINVAL))
        );
        assert_eq!(
            hash.expected_under(ImaRule::Hash),
            (VerdictClass::Valid, None)
        );
        let bad = row("ima-hash-mismatch", "invalid", "EINVAL");
        assert_eq!(
            bad.expected_under(ImaRule::Hash),
            (VerdictClass::Invalid, Some(Errno::EKEYREJECTED))
        );
        let short = row("ima-hash-short", "invalid", "EINVAL");
        assert_eq!(
            short.expected_under(ImaRule::Hash),
            (VerdictClass::Invalid, Some(Errno::EINVAL))
        );
        let bl = row("blacklisted-hash", "invalid", "EPERM");
        assert_eq!(
            bl.expected_under(ImaRule::Hash),
            (VerdictClass::Valid, None)
        );
        let t = row("tampered", "invalid", "EKEYREJECTED");
        assert_eq!(
            t.expected_under(ImaRule::Hash),
            t.expected_under(ImaRule::Imasig)
        );
        let m = parse_manifest_line(2, "m.ko\tmodule\tgood\tvalid\t-")
            .unwrap()
            .unwrap();
        assert_eq!(m.expected_under(ImaRule::Hash), (VerdictClass::Valid, None));
        let unsigned = Verdict::unsigned(ItemKind::Ima, "x");
        assert!(!hash.matches_under(ImaRule::Hash, &unsigned));
        assert!(hash.matches_under(
            ImaRule::Imasig,
            &Verdict::invalid(ItemKind::Ima, Errno::EINVAL, "")
        ));
    }

    #[test]
    fn errors_name_the_line() {
        for (line, want) in [
            (
                "a\tmodule\tgood\tvalid",
                "expected 5 fields (6 with the form)",
            ),
            (
                "a\tmodule\tgood\tvalid\t-\tx\ty",
                "expected 5 fields (6 with the form)",
            ),
            ("a\tmodule\tgood\tvalid\t-\tx", "unknown form 'x'"),
            (
                "a\tmodule\tgood\tvalid\t-\tmldsa66",
                "unknown form 'mldsa66'",
            ),
            ("a\tima\tgood\tvalid\t-\tv3:", "unknown form 'v3:'"),
            ("a\tkmod\tgood\tvalid\t-", "unknown kind 'kmod'"),
            (
                "a\tima\tbroken\tinvalid\tEINVAL",
                "unknown bad class 'broken'",
            ),
            ("a\tima\tgood\tfine\t-", "unknown verdict 'fine'"),
            ("a\tima\tgood\tinvalid\tENOPE", "unknown errno 'ENOPE'"),
        ] {
            let text = format!("{HEADER}\n\n# comment\n{line}\n");
            let e = read_manifest(&text).unwrap_err();
            assert!(matches!(e, Error::Manifest { line: 4, .. }), "{line}");
            assert_eq!(e.to_string(), format!("manifest line 4: {want}"));
        }
    }
}
