//! `manifest.tsv`: the expected verdict of every item of a generated corpus, one row per
//! item (`path kind class verdict errno`, tab-separated, after a header line).
//!
//! Reading a manifest needs no generator: `run --corpus DIR` checks any generated corpus
//! against it, whichever build made the corpus.
//!
//! The verdicts are those of the default IMA rule (`appraise_type=imasig`). Under the hash
//! rule (`run --ima-accept-hash`) an IMA row's expectation follows from its class
//! ([`Expected::expected_under`], [`BadClass::errno_under_hash_rule`]), so one manifest
//! serves both rules and manifests written before the rule existed stay readable.

use super::bad::BadClass;
use crate::errno::Errno;
use crate::error::Error;
use crate::verify::ima::ImaRule;
use crate::verify::{ItemKind, Verdict, VerdictClass};
use std::fmt;

/// The first line of every manifest.
pub const HEADER: &str = "path\tkind\tclass\tverdict\terrno";

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
        }
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
            None => f.write_str("-"),
            Some(e) => write!(f, "{e}"),
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
    // Five fields, split without collecting them: a manifest is read again every pass.
    let mut f = line.split('\t');
    let (Some(path), Some(kind), Some(class), Some(verdict), Some(errno), None) =
        (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return Err(err("expected 5 fields".into()));
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
            ("a\tmodule\tgood\tvalid", "expected 5 fields"),
            ("a\tmodule\tgood\tvalid\t-\tx", "expected 5 fields"),
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
