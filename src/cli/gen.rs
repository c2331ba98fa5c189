//! `trustbench gen`: a deterministic signed corpus from a spec.

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trustbench::corpus::gen;
use trustbench::corpus::spec::Spec;
use trustbench::hash::HashAlgo;

#[derive(Args, Debug)]
pub struct GenArgs {
    /// Corpus spec (TOML); see corpora/default.toml for every field.
    #[arg(long, value_name = "FILE")]
    pub spec: PathBuf,
    /// Output directory [default: corpora/generated/NAME-SPECHASH under the current
    /// directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override the spec's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// A loaded spec with its identity.
pub struct LoadedSpec {
    pub spec: Spec,
    pub text: String,
    /// SHA-256 of the spec text and seed: names the cache directory.
    pub hash: String,
}

/// Reads a spec, applying a seed override.
pub fn load_spec(path: &Path, seed: Option<u64>) -> Result<LoadedSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_spec(text, path, seed)
}

/// A spec from its text (`origin` names it in errors), applying a seed override.
pub fn parse_spec(text: String, origin: &Path, seed: Option<u64>) -> Result<LoadedSpec, String> {
    let mut spec = Spec::parse(&text).map_err(|e| format!("{}: {e}", origin.display()))?;
    if let Some(s) = seed {
        spec.seed = s;
    }
    let id = format!(
        "{}\nseed={}\ngenerator={}",
        text,
        spec.seed,
        env!("CARGO_PKG_VERSION")
    );
    let hash = HashAlgo::Sha256
        .digest(id.as_bytes())
        .map_err(|e| e.to_string())?
        .hex();
    Ok(LoadedSpec { spec, text, hash })
}

/// Where generated corpora are kept unless an option says otherwise: `corpora/generated`
/// under the current directory (never the build tree: an installed binary runs anywhere).
pub fn default_cache_root() -> PathBuf {
    std::env::current_dir()
        .unwrap_or_default()
        .join("corpora/generated")
}

/// The directory of a spec's corpus under the cache `root`: NAME-SPECHASH.
pub fn cache_dir(root: &Path, l: &LoadedSpec) -> PathBuf {
    root.join(format!("{}-{}", l.spec.name, &l.hash[..16]))
}

/// Generates `l` into `dir`, printing a summary.
pub fn generate(l: &LoadedSpec, dir: &Path, quiet: bool) -> Result<(), String> {
    let t = Instant::now();
    let s = gen::generate(&l.spec, &l.text, dir, !quiet)?;
    if !quiet {
        eprintln!(
            "generated {} modules, {} files ({} bad), {} certificates, {:.1} MB in {:.1}s -> {}",
            s.modules,
            s.files,
            s.bad,
            s.certs,
            s.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64(),
            dir.display()
        );
    }
    Ok(())
}

pub fn run(a: GenArgs) -> Result<ExitCode, String> {
    let l = load_spec(&a.spec, a.seed)?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| cache_dir(&default_cache_root(), &l));
    generate(&l, &dir, a.quiet)?;
    println!("{}", dir.display());
    Ok(ExitCode::SUCCESS)
}
