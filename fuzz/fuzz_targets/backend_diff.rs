#![no_main]
//! Differential: one input judged through stores that differ only in their crypto backend
//! (every usable backend of `crypto::backends::all()` except `kernel`, see fuzz/README.md)
//! must get the same verdict class and errno from every backend, except a backend whose
//! verdict says it could not do the crypto (`Verdict::backend_unsupported`), which is left
//! out of the comparison. Every store trusts the real fixture signers (built-in keyring
//! and `.ima`), so sign-file modules and evmctl labels from `corpora/fixtures` (the seeds)
//! verify, and their mutations walk every backend's accept/reject boundary.
//!
//! Input layout: byte 0 bit 0: 0 a module, 1 an IMA item; bit 1: the kernel profile (0:
//! 6.18, 1: 7.2); bit 2: the IMA rule (0: imasig, 1: hash). A module is the rest of the
//! input. An IMA item: a big-endian u16 label length, the `security.ima` value, then the
//! file content.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trustbench::kernel_profile::KernelProfile;
use trustbench::trust::store::Store;
use trustbench::verify::ima::{verify_ima, ImaPolicy, ImaRule};
use trustbench::verify::module::{keyring, verify_module};
use trustbench::verify::Verdict;

/// Backends left out: `kernel` (every verification is keyctl syscalls on a keyring of
/// this machine's kernel: machine-global state, thousands of times slower, and not
/// available in every sandbox).
const EXCLUDED: [&str; 1] = ["kernel"];

/// Per kernel profile, one store per backend (name, store).
fn stores() -> &'static [Vec<(&'static str, Store)>; 2] {
    static S: OnceLock<[Vec<(&'static str, Store)>; 2]> = OnceLock::new();
    S.get_or_init(|| {
        [KernelProfile::V6_18, KernelProfile::V7_2].map(|k| {
            let v: Vec<_> = trustbench::crypto::backends::all()
                .into_iter()
                .filter(|b| !EXCLUDED.contains(&b.name()) && b.name() != "faulty")
                .map(|b| (b.name(), fixtures::store(k, b)))
                .collect();
            assert!(v.len() >= 2, "fewer than two backends to compare");
            v
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let stores = &stores()[usize::from(flags >> 1 & 1)];
    let judge: Box<dyn Fn(&Store) -> Verdict> = if flags & 1 == 0 {
        Box::new(|s| verify_module(s, rest, keyring(s)))
    } else {
        let n = match rest {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => return,
        };
        let rest = &rest[2..];
        let (label, content) = rest.split_at(n.min(rest.len()));
        let rule = if flags & 4 == 0 {
            ImaRule::Imasig
        } else {
            ImaRule::Hash
        };
        let policy = ImaPolicy {
            check_blacklist: false,
            rule,
        };
        Box::new(move |s| verify_ima(s, content, Some(label), policy))
    };
    let verdicts: Vec<(&str, Verdict)> = stores.iter().map(|(n, s)| (*n, judge(s))).collect();
    let mut supported = verdicts.iter().filter(|(_, v)| !v.backend_unsupported);
    let Some((first, a)) = supported.next() else {
        return;
    };
    for (name, b) in supported {
        assert!(
            (a.class, a.errno) == (b.class, b.errno),
            "{first}: {:?} {:?} ({}) vs {name}: {:?} {:?} ({})\nall: {verdicts:#?}",
            a.class,
            a.errno,
            a.reason,
            b.class,
            b.errno,
            b.reason
        );
    }
});
