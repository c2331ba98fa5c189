//! `trustbench verify`: one verdict per path, as the kernel would give it.

use super::setup::{MmapArgs, TrustArgs};
use clap::{Args, ValueEnum};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustbench::engine::{self, Engine, EngineConfig, Item};
use trustbench::trust::Store;
use trustbench::verify::ima::{ImaPolicy, ImaRule, ImaSourceMode};
use trustbench::verify::{ItemKind, Verdict, VerdictClass};
use trustbench::Error;

/// How to treat each path (`verify --kind`, also `run --kind` to filter a tree).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum KindArg {
    /// By name: `.ko`, `.ko.gz`, `.ko.xz`, `.ko.zst` are modules, anything else an
    /// IMA-appraised file (the names kmod's depmod indexes as modules).
    Auto,
    /// Every path is a module (its appended signature is checked, whatever its name).
    Module,
    /// Every path is an IMA-appraised file.
    Ima,
}

/// Where IMA labels are read from (`--ima-source`).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SourceArg {
    /// security.ima when the file has one (even empty: then it has no label and the .sig
    /// sidecar is not read), else the FILE.sig sidecar.
    Auto,
    /// Only security.ima, as the kernel reads it; sidecars are ignored.
    Xattr,
    /// Only FILE.sig sidecars; security.ima is ignored.
    Sidecar,
}

/// The IMA policy options of `verify` and `run`.
#[derive(Args, Debug, Clone)]
pub struct ImaArgs {
    /// IMA policy check_blacklist: a `bin:` blacklist entry for the file digest fails
    /// (EPERM) before the label is looked at. Only rules with appraise_type=imasig take it
    /// (`run` turns it on for generated corpora).
    #[arg(long)]
    pub ima_check_blacklist: bool,
    /// The IMA policy rule lacks appraise_type=imasig: a security.ima hash (type 1 or 4)
    /// that matches the file appraises it (valid, no signer), a different one fails
    /// (invalid-hash). Default: signatures are required, and a hash label fails with
    /// EINVAL (IMA-signature-required). The kernel refuses check_blacklist on such a rule.
    #[arg(long, conflicts_with = "ima_check_blacklist")]
    pub ima_accept_hash: bool,
    /// Where IMA labels come from: auto (security.ima when the file has one, else the .sig
    /// sidecar), xattr (only security.ima, as the kernel) or sidecar (only FILE.sig).
    #[arg(long, value_enum, default_value_t = SourceArg::Auto, value_name = "SOURCE")]
    pub ima_source: SourceArg,
}

impl ImaArgs {
    /// The appraisal rule the options select.
    pub fn rule(&self) -> ImaRule {
        if self.ima_accept_hash {
            ImaRule::Hash
        } else {
            ImaRule::Imasig
        }
    }

    /// The label source the options select.
    pub fn source(&self) -> ImaSourceMode {
        match self.ima_source {
            SourceArg::Auto => ImaSourceMode::Auto,
            SourceArg::Xattr => ImaSourceMode::Xattr,
            SourceArg::Sidecar => ImaSourceMode::Sidecar,
        }
    }
}

impl KindArg {
    /// The one kind a tree is filtered to (`run --kind`, `backends --kind`): `None` for
    /// `auto`, every file by its name.
    pub fn only(self) -> Option<ItemKind> {
        match self {
            KindArg::Auto => None,
            KindArg::Module => Some(ItemKind::Module),
            KindArg::Ima => Some(ItemKind::Ima),
        }
    }
}

/// `trustbench verify` arguments.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The trust store: `--trust` certificates and `--keyring-setup` scripts.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// What the paths are.
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,
    /// One JSON object per path, one per line.
    #[arg(long)]
    pub json: bool,
    /// Worker threads [default: all logical CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// IMA policy: rule, blacklist, label source.
    #[command(flatten)]
    pub ima: ImaArgs,
    /// Memory mapping of large files (off by default).
    #[command(flatten)]
    pub mmap: MmapArgs,
    /// Files to verify.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// The JSON record of a verdict (the contract tooling relies on). IMA records also say
/// which appraisal rule judged them (`ima_rule`: `imasig` or `hash`) and where the label
/// came from (`ima_source`: `xattr`, `sidecar`, or null when there was none). A valid
/// record may have no signer (a matching hash label). A record the `--backend` could not
/// verify also names it (`backend_unsupported`: the backend's name; its errno is then the
/// kernel's answer to crypto it lacks, not the backend's verdict).
pub fn verdict_json(store: &Store, path: &Path, v: &Verdict, rule: ImaRule) -> serde_json::Value {
    let mut r = json!({
        "path": path.display().to_string(),
        "kind": v.kind.name(),
        "verdict": v.class.name(),
        "errno": v.errno.map(|e| e.to_string()),
        "reason": v.reason,
        "signer": v.signer.and_then(|s| store.description_ref(s)),
        "hash": v.digest.map(|d| d.to_string()),
    });
    if v.kind == ItemKind::Ima {
        r["ima_rule"] = rule.name().into();
        r["ima_source"] = v.ima_source.map(|s| s.name()).into();
    }
    if v.backend_unsupported {
        r["backend_unsupported"] = store.backend().name().into();
    }
    r
}

/// A failed write of the verdicts.
fn stdout_error(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}

/// Runs `verify`: one verdict per path, in argument order; exit 0 when all are valid, 1
/// otherwise, and an error (exit 2) when a file cannot be read.
pub fn run(a: VerifyArgs) -> Result<ExitCode, Error> {
    let store = a.trust.build()?;
    let items: Vec<Item> = a
        .paths
        .iter()
        .map(|p| Item {
            path: p.clone(),
            kind: match a.kind {
                KindArg::Module => ItemKind::Module,
                KindArg::Ima => ItemKind::Ima,
                KindArg::Auto => ItemKind::of_path(p),
            },
        })
        .collect();
    let threads = engine::worker_threads(a.threads);
    let pool = engine::thread_pool(threads)?;
    let engine = Engine::new(
        store,
        EngineConfig {
            cache_size: 0,
            timing: false,
            ima_policy: ImaPolicy {
                check_blacklist: a.ima.ima_check_blacklist,
                rule: a.ima.rule(),
            },
            ima_source: a.ima.source(),
            mmap_threshold: a.mmap.policy().threshold(None),
        },
        threads,
    );
    let r = engine.pass(&items, &pool);
    let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // A file that cannot be read is a usage/I-O error (exit 2), not a verdict; the engine
    // says which file (the item or its `.sig` sidecar) and how.
    if let Some((item, f)) = items
        .iter()
        .zip(&r.outcomes)
        .find_map(|(i, o)| o.io.map(|f| (i, f)))
    {
        return Err(Error::io(f.path(&item.path), f.cause.into()));
    }
    let mut all_valid = true;
    for (item, o) in items.iter().zip(&r.outcomes) {
        let v = &o.verdict;
        all_valid &= v.class == VerdictClass::Valid;
        if a.json {
            let rec = verdict_json(&store, &item.path, v, a.ima.rule());
            writeln!(out, "{rec}").map_err(stdout_error)?;
        } else {
            human(&mut out, &store, &item.path, v).map_err(stdout_error)?;
        }
    }
    out.flush().map_err(stdout_error)?;
    let faults = trustbench::crypto::mb::disagreements();
    if faults > 0 {
        eprintln!(
            "trustbench: internal error: {faults} multi-buffer results differ from the single-op backend's (those items are marked unsupported, not judged); please report this"
        );
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes the human line for a verdict straight into `out` (no intermediate strings).
fn human(out: &mut impl Write, store: &Store, p: &Path, v: &Verdict) -> std::io::Result<()> {
    write!(out, "{}: ", p.display())?;
    match v.errno {
        None => write!(out, "valid ({}", v.kind.name())?,
        Some(e) => write!(out, "{} {e} ({}", v.class.name(), v.kind.name())?,
    }
    if let Some(d) = v.signer.and_then(|s| store.description_ref(s)) {
        write!(out, " by '{d}'")?;
    }
    if v.backend_unsupported {
        write!(out, " [unsupported by backend {}]", store.backend().name())?;
    }
    match v.errno {
        None => writeln!(out, ")"),
        Some(_) => writeln!(out, "): {}", v.reason),
    }
}
