//! DELETE AT MERGE — a stand-in for the typed manifest row.
//!
//! `corpus::manifest::Expected` (being written in another branch) is a typed manifest row:
//! `path: String`, `kind: ItemKind`, `verdict: VerdictClass`, `errno: Option<Errno>`,
//! `class`, and `matches(&Verdict)` (same class and errno). Until it lands, this file adapts
//! today's string-typed `corpus::gen::Expected` to exactly that shape, so the rest of
//! `measure` (source.rs, manifest.rs) is written against the typed row and touches only
//! `e.matches(&verdict)`, `e.kind`, `e.path` and the Display of fields.
//!
//! At merge: delete this file, `use crate::corpus::manifest::Expected` in source.rs and
//! manifest.rs (and its test helper), and point `parse_manifest_row` at the manifest
//! module's row parser.

use crate::corpus::gen;
use crate::errno::Errno;
use crate::error::{Error, Result};
use crate::verify::{ItemKind, Verdict, VerdictClass};

/// One manifest row, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    /// Relative to the corpus root.
    pub path: String,
    pub kind: ItemKind,
    /// The generator's item class (`good` or a bad class name).
    pub class: &'static str,
    pub verdict: VerdictClass,
    pub errno: Option<Errno>,
}

impl Expected {
    /// Whether `v` is the verdict this row expects: same class and errno.
    pub fn matches(&self, v: &Verdict) -> bool {
        self.verdict == v.class && self.errno == v.errno
    }
}

/// Parses line `number` (1-based) of `manifest.tsv`: `None` for the header, blank lines and
/// comments.
pub(crate) fn parse_manifest_row(number: usize, line: &str) -> Result<Option<Expected>> {
    let row = gen::parse_manifest_line(number, line).map_err(|m| {
        let prefix = format!("manifest line {number}: ");
        let message = m
            .strip_prefix(&prefix)
            .or_else(|| m.strip_prefix("manifest: "))
            .unwrap_or(&m)
            .to_string();
        Error::Manifest {
            line: number,
            message,
        }
    })?;
    Ok(row.map(|e| Expected {
        kind: if e.kind == "module" {
            ItemKind::Module
        } else {
            ItemKind::Ima
        },
        class: e.class,
        verdict: match e.verdict {
            "valid" => VerdictClass::Valid,
            "unsigned" => VerdictClass::Unsigned,
            _ => VerdictClass::Invalid,
        },
        errno: e.errno,
        path: e.path,
    }))
}
