//! `trustbench verify`: one verdict per path, as the kernel would give it.

use super::setup::TrustArgs;
use clap::{Args, ValueEnum};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustbench::engine::{Engine, EngineConfig, Item};
use trustbench::formats::modsig;
use trustbench::trust::Store;
use trustbench::verify::{ima, ItemKind, Verdict, VerdictClass};

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
    /// Worker threads [default: all logical CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// IMA policy `check_blacklist`: a `bin:` blacklist hit on the file digest fails (EPERM).
    #[arg(long)]
    pub ima_check_blacklist: bool,
    /// Files to verify.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// The JSON record of a verdict (the contract tooling relies on).
pub fn verdict_json(store: &Store, path: &Path, v: &Verdict) -> serde_json::Value {
    json!({
        "path": path.display().to_string(),
        "kind": v.kind.name(),
        "verdict": v.class.name(),
        "errno": v.errno.map(|e| e.to_string()),
        "reason": v.reason,
        "signer": v.signer.and_then(|s| store.description_ref(s)),
        "hash": v.digest.map(|d| d.to_string()),
    })
}

pub fn run(a: VerifyArgs) -> Result<ExitCode, String> {
    let store = a.trust.build()?;
    // A path that cannot be read is a usage/I-O error (exit 2), not a verdict.
    let mut items = Vec::with_capacity(a.paths.len());
    for p in &a.paths {
        let kind = match a.kind {
            KindArg::Module => ItemKind::Module,
            KindArg::Ima => ItemKind::Ima,
            KindArg::Auto => {
                if has_module_trailer(p).map_err(|e| format!("{}: {e}", p.display()))? {
                    ItemKind::Module
                } else {
                    ItemKind::Ima
                }
            }
        };
        items.push(Item {
            path: p.clone(),
            kind,
        });
    }
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("thread pool: {e}"))?;
    let engine = Engine::new(
        store,
        EngineConfig {
            cache_size: 0,
            timing: false,
            ima_policy: ima::ImaPolicy {
                check_blacklist: a.ima_check_blacklist,
            },
            ..EngineConfig::default()
        },
        threads,
    );
    let r = engine.pass(&items, &pool);
    let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if let Some((item, _)) = items
        .iter()
        .zip(&r.outcomes)
        .find(|(_, o)| o.verdict.errno == Some(trustbench::Errno::EIO))
    {
        let why = std::fs::File::open(&item.path)
            .err()
            .map_or("not a readable regular file".to_string(), |e| e.to_string());
        return Err(format!("{}: {why}", item.path.display()));
    }
    let mut all_valid = true;
    for (item, o) in items.iter().zip(&r.outcomes) {
        let v = &o.verdict;
        all_valid &= v.class == VerdictClass::Valid;
        if a.json {
            writeln!(out, "{}", verdict_json(&store, &item.path, v)).map_err(|e| e.to_string())?;
        } else {
            human(&mut out, &store, &item.path, v).map_err(|e| e.to_string())?;
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Whether the file ends with the module signature marker (reads only the tail; a
/// compressed module is recognised by its magic and decompressed first).
fn has_module_trailer(p: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(p)?;
    let len = f.metadata()?.len();
    let mut head = [0u8; 6];
    let n = f.read(&mut head)?;
    if trustbench::formats::decompress::Compression::detect(&head[..n]).is_some() {
        let mut all = Vec::new();
        f.seek(SeekFrom::Start(0))?;
        f.read_to_end(&mut all)?;
        let mut plain = Vec::new();
        let c = trustbench::formats::decompress::Compression::detect(&all).expect("detected");
        // A compressed `.ko.*` is a module even when it no longer decompresses (then it is
        // a corrupt module, not an unsigned file).
        let named_module = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains(".ko"));
        return Ok(named_module
            || (trustbench::formats::decompress::decompress(c, &all, &mut plain).is_ok()
                && modsig::has_marker(&plain)));
    }
    let m = modsig::MARKER.len() as u64;
    if len <= m {
        return Ok(false);
    }
    let mut tail = vec![0u8; m as usize];
    f.seek(SeekFrom::Start(len - m))?;
    f.read_exact(&mut tail)?;
    Ok(tail == modsig::MARKER)
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
    match v.errno {
        None => writeln!(out, ")"),
        Some(_) => writeln!(out, "): {}", v.reason),
    }
}
