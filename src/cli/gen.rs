//! `trustbench gen`: a deterministic signed corpus from a spec.

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trustbench::corpus::gen;
use trustbench::corpus::spec::Spec;
use trustbench::hash::hex;
use trustbench::Error;

/// `trustbench gen`'s options.
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
    /// The parsed, checked spec (seed override applied).
    pub spec: Spec,
    /// The spec text as read (kept in the corpus's `spec.toml`).
    pub text: String,
    /// SHA-256 of the spec text and seed: names the cache directory.
    pub hash: String,
}

/// Reads a spec, applying a seed override: [`Error::Io`] if it cannot be read,
/// [`Error::Spec`] naming `path` if it is not a valid spec.
pub fn load_spec(path: &Path, seed: Option<u64>) -> Result<LoadedSpec, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_spec(text, path, seed)
}

/// A spec from its text (`origin` names it in errors), applying a seed override.
pub fn parse_spec(text: String, origin: &Path, seed: Option<u64>) -> Result<LoadedSpec, Error> {
    let mut spec = Spec::parse(&text, origin)?;
    if let Some(s) = seed {
        spec.seed = s;
    }
    let id = format!(
        "{}\nseed={}\ngenerator={}",
        text,
        spec.seed,
        env!("CARGO_PKG_VERSION")
    );
    let hash = hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes()).as_ref());
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
    let short = l.hash.get(..16).unwrap_or(&l.hash);
    root.join(format!("{}-{short}", l.spec.name))
}

/// Generates `l` into `dir`, printing a summary.
pub fn generate(l: &LoadedSpec, dir: &Path, quiet: bool) -> Result<(), Error> {
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

/// `trustbench gen`: generates the spec's corpus and prints its directory.
pub fn run(a: GenArgs) -> Result<ExitCode, Error> {
    let l = load_spec(&a.spec, a.seed)?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| cache_dir(&default_cache_root(), &l));
    generate(&l, &dir, a.quiet)?;
    println!("{}", dir.display());
    Ok(ExitCode::SUCCESS)
}
