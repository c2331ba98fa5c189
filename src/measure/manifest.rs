//! The manifest check: every verdict of the first pass against the row that the generator
//! wrote for the item.
//!
//! Per item it is one typed comparison (`Expected::matches`) and a counter; the first
//! [`MISMATCH_LIST_CAP`] disagreeing rows are kept as they are and named only when the
//! check finishes, so a corpus where everything disagrees costs no string per item.
//!
//! A verdict the run's backend could not give ([`Verdict::backend_unsupported`]) is not
//! compared: it is counted apart, so `run --backend kernel` on a corpus with ECDSA items
//! says how many it could not judge instead of calling them mismatches.

use super::report::{ManifestCheck, MISMATCH_LIST_CAP};
use crate::corpus::manifest::Expected;
use crate::engine::Outcome;
use crate::errno::Errno;
use crate::kernel_profile::KernelProfile;
use crate::verify::ima::ImaRule;
use crate::verify::Verdict;

/// Folds chunks of (manifest row, outcome) pairs into a [`ManifestCheck`], expecting each
/// row's verdict under the run's IMA rule ([`Expected::expected_under`]).
#[derive(Default)]
pub(crate) struct ManifestComparison {
    rule: ImaRule,
    kernel: KernelProfile,
    mismatch_count: usize,
    backend_unsupported: usize,
    not_predicted: usize,
    listed: Vec<(Expected, Verdict)>,
}

impl ManifestComparison {
    /// A comparison expecting the verdicts of `rule` from a kernel with `kernel`'s rules.
    pub fn new(rule: ImaRule, kernel: KernelProfile) -> ManifestComparison {
        ManifestComparison {
            rule,
            kernel,
            ..Default::default()
        }
    }

    /// Compares one chunk: `outcomes[i]` is the verdict for `expected[i]`.
    pub fn add(&mut self, expected: &[Expected], outcomes: &[Outcome]) {
        for (e, o) in expected.iter().zip(outcomes) {
            if o.verdict.backend_unsupported {
                self.backend_unsupported += 1;
            } else if !e.predicted_under(self.kernel) {
                self.not_predicted += 1;
            } else if !e.matches_under(self.rule, &o.verdict) {
                self.mismatch_count += 1;
                if self.listed.len() < MISMATCH_LIST_CAP {
                    self.listed.push((e.clone(), o.verdict));
                }
            }
        }
    }

    /// The check, with the listed mismatches named.
    pub fn finish(self, checked: usize) -> ManifestCheck {
        ManifestCheck {
            checked,
            mismatches: self
                .listed
                .iter()
                .map(|(e, v)| describe(e, self.rule, v))
                .collect(),
            mismatch_count: self.mismatch_count,
            backend_unsupported: self.backend_unsupported,
            not_predicted: self.not_predicted,
        }
    }
}

/// `PATH (CLASS): expected VERDICT ERRNO, got VERDICT ERRNO (REASON)`; an absent errno is
/// empty.
fn describe(e: &Expected, rule: ImaRule, v: &Verdict) -> String {
    let (verdict, errno) = e.expected_under(rule);
    format!(
        "{} ({}): expected {} {}, got {} {} ({})",
        e.path,
        e.class_name(),
        verdict.name(),
        errno_text(errno),
        v.class.name(),
        errno_text(v.errno),
        v.reason
    )
}

fn errno_text(e: Option<Errno>) -> String {
    e.map(|e| e.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::manifest::parse_manifest_line as parse_manifest_row;
    use crate::verify::ItemKind;

    fn outcome(verdict: Verdict) -> Outcome {
        Outcome {
            verdict,
            stage_ns: Default::default(),
            total_ns: 0,
            bytes: 0,
            cache_hit: false,
            io: None,
            verified: true,
            epoch: 0,
        }
    }

    fn row(line: &str) -> Expected {
        parse_manifest_row(2, line).unwrap().unwrap()
    }

    #[test]
    fn mismatches_name_both_verdicts_and_the_count_is_not_capped() {
        let good = row("modules/m000000.ko\tmodule\tgood\tvalid\t-");
        assert_eq!(good.kind, ItemKind::Module);
        let rejected = row("files/f000001.bin\tima\tgood\tinvalid\tEKEYREJECTED");
        let valid = Verdict::valid(ItemKind::Module, 7, None);
        let eio = Verdict::invalid(ItemKind::Ima, Errno::EIO, "cannot read the file");

        let mut c = ManifestComparison::default();
        c.add(
            &[good.clone(), rejected.clone()],
            &[outcome(valid), outcome(eio)],
        );
        let n = MISMATCH_LIST_CAP + 5;
        let many = vec![good.clone(); n];
        c.add(&many, &vec![outcome(eio); n]);
        let m = c.finish(2 + n);
        assert_eq!(m.checked, 2 + n);
        assert_eq!(m.mismatch_count, 1 + n, "every mismatch is counted");
        assert_eq!(m.mismatches.len(), MISMATCH_LIST_CAP, "the list is capped");
        assert_eq!(
            m.mismatches[0],
            "files/f000001.bin (good): expected invalid EKEYREJECTED, got invalid EIO \
             (cannot read the file)"
        );
        assert_eq!(
            m.mismatches[1],
            "modules/m000000.ko (good): expected valid , got invalid EIO (cannot read the file)"
        );
    }

    /// A verdict the backend could not give is counted apart, whatever it says.
    #[test]
    fn verdicts_the_backend_could_not_give_are_not_compared() {
        let good = row("modules/m000000.ko\tmodule\tgood\tvalid\t-");
        let mut lacking = Verdict::invalid(ItemKind::Module, Errno::EKEYREJECTED, "x");
        lacking.backend_unsupported = true;
        let wrong = Verdict::invalid(ItemKind::Module, Errno::EKEYREJECTED, "x");
        let mut c = ManifestComparison::default();
        c.add(
            &[good.clone(), good.clone(), good],
            &[outcome(lacking), outcome(wrong), outcome(lacking)],
        );
        let m = c.finish(3);
        assert_eq!((m.checked, m.count(), m.backend_unsupported), (3, 1, 2));
    }

    #[test]
    fn same_class_different_errno_is_a_mismatch() {
        let e = row("files/f000002.bin\tima\ttampered\tinvalid\tEKEYREJECTED");
        assert!(e.matches(&Verdict::invalid(ItemKind::Ima, Errno::EKEYREJECTED, "x")));
        assert!(!e.matches(&Verdict::invalid(ItemKind::Ima, Errno::EBADMSG, "x")));
        assert!(!e.matches(&Verdict::valid(ItemKind::Ima, 3, None)));
        let u = row("files/f000003.bin\tima\tmissing-signature\tunsigned\tENODATA");
        assert!(u.matches(&Verdict::unsigned(ItemKind::Ima, "no signature")));
    }

    #[test]
    fn malformed_rows_are_manifest_errors_with_their_line() {
        for (line, needle) in [
            ("a\tmodule\tgood\tvalid", "5 fields"),
            ("a\tdriver\tgood\tvalid\t-", "unknown kind 'driver'"),
            ("a\tmodule\tgood\tperhaps\t-", "unknown verdict 'perhaps'"),
            ("a\tmodule\tgood\tinvalid\tEFOO", "EFOO"),
        ] {
            match parse_manifest_row(9, line) {
                Err(crate::Error::Manifest { line: 9, message }) => {
                    assert!(message.contains(needle), "{line:?}: {message}");
                    assert!(!message.contains("line 9"), "no doubled prefix: {message}");
                }
                other => panic!("{line:?}: {other:?}"),
            }
        }
        assert_eq!(
            parse_manifest_row(1, "path\tkind\tclass\tverdict\terrno").unwrap(),
            None
        );
    }
}
