//! `trustbench verify`: one verdict per path, as the kernel would give it.

use super::setup::TrustArgs;
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustbench::formats::modsig;
use trustbench::trust::Store;
use trustbench::verify::{ima, module, ItemKind, Verdict, VerdictClass};

/// How to treat each path.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum KindArg {
    /// A module if it ends with the signature marker, else an IMA-appraised file.
    Auto,
    Module,
    Ima,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub trust: TrustArgs,
    /// What the paths are.
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,
    /// One JSON object per path, one per line.
    #[arg(long)]
    pub json: bool,
    /// IMA policy `check_blacklist`: a `bin:` blacklist hit on the file digest fails (EPERM).
    #[arg(long)]
    pub ima_check_blacklist: bool,
    /// Files to verify.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Reads the IMA signature: `PATH.sig` (evmctl --sigfile) first, else `security.ima`.
pub fn read_ima_sig(path: &Path) -> Option<Vec<u8>> {
    let mut sig = path.as_os_str().to_owned();
    sig.push(".sig");
    if let Ok(b) = std::fs::read(&sig) {
        return Some(b);
    }
    trustbench::engine::read_ima_xattr(path)
}

/// Verifies one file's bytes.
pub fn verify_bytes(
    store: &Store,
    path: &Path,
    data: &[u8],
    kind: KindArg,
    check_bl: bool,
) -> Verdict {
    let as_module = match kind {
        KindArg::Module => true,
        KindArg::Ima => false,
        KindArg::Auto => modsig::has_marker(data),
    };
    if as_module {
        let ring = store.system().secondary.unwrap_or(store.system().builtin);
        module::verify_module(store, data, ring)
    } else {
        let sig = read_ima_sig(path);
        ima::verify_ima(
            store,
            data,
            sig.as_deref(),
            ima::ImaPolicy {
                check_blacklist: check_bl,
            },
        )
    }
}

/// The JSON record of a verdict (the contract tooling relies on).
pub fn verdict_json(store: &Store, path: &Path, v: &Verdict) -> serde_json::Value {
    json!({
        "path": path.display().to_string(),
        "kind": v.kind.name(),
        "verdict": v.class.name(),
        "errno": v.errno.map(|e| e.name()),
        "reason": v.reason,
        "signer": v.signer.and_then(|s| store.description(s)),
        "hash": v.digest.map(|d| d.to_string()),
    })
}

pub fn run(a: VerifyArgs) -> Result<ExitCode, String> {
    let store = a.trust.build()?;
    // Read everything first: an unreadable path is an I/O error (exit 2), not a verdict.
    let mut items = Vec::with_capacity(a.paths.len());
    for p in &a.paths {
        let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
        items.push((p, data));
    }
    let mut all_valid = true;
    for (p, data) in &items {
        let v = verify_bytes(&store, p, data, a.kind, a.ima_check_blacklist);
        all_valid &= v.class == VerdictClass::Valid;
        if a.json {
            println!("{}", verdict_json(&store, p, &v));
        } else {
            println!("{}", human(&store, p, &v));
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn human(store: &Store, p: &Path, v: &Verdict) -> String {
    let kind = match v.kind {
        ItemKind::Module => "module",
        ItemKind::Ima => "ima",
    };
    let signer = v
        .signer
        .and_then(|s| store.description(s))
        .map(|d| format!(" by '{d}'"))
        .unwrap_or_default();
    match v.errno {
        None => format!("{}: valid ({kind}{signer})", p.display()),
        Some(e) => format!(
            "{}: {} {e} ({kind}{signer}): {}",
            p.display(),
            v.class.name(),
            v.reason
        ),
    }
}
