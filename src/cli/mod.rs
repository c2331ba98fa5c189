//! Command-line interface: one file per subcommand.

mod backends;
mod certs;
mod exports;
#[cfg(feature = "generator")]
mod gen;
mod keyring;
mod merge;
mod run;
mod setup;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Verify Linux kernel module and IMA signatures against layered keyrings with the
/// kernel's exact semantics, and measure the hot paths.
///
/// With no subcommand, `trustbench` runs the default job (`trustbench run`).
#[derive(Parser, Debug)]
#[command(name = "trustbench", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Verify module signatures (appended PKCS#7) and IMA labels (the security.ima xattr,
    /// or the FILE.sig sidecar when the file has none) the way the kernel would.
    ///
    /// Exit status: 0 when every PATH is valid, 1 when any is not, 2 on usage or I/O
    /// errors.
    ///
    /// Example: trustbench verify --trust signing_key.x509 /lib/modules/$(uname -r)/kernel/fs/*.ko
    Verify(verify::VerifyArgs),
    /// Keyrings: replay keyctl-like scripts (optionally against the live kernel), show the
    /// layered set, check raw signatures.
    #[command(subcommand)]
    Keyring(keyring::KeyringCmd),
    /// Join the JSON reports of `run --shard K/N` runs into one report.
    ///
    /// Reports from one testbed (host, CPU, kernel, crypto library) merge whole: counts add
    /// up, and so do throughputs and ceilings (the shards ran at once). From different
    /// testbeds their timings do not add up: refused (exit 2, naming the testbeds) unless
    /// --verdicts-only, which joins the verdict and manifest counts alone. Exit 1 when any
    /// shard disagreed with its manifest.
    ///
    /// Example: trustbench merge --verdicts-only --json merged.json shards/*.json
    Merge(merge::MergeArgs),
    /// Certificates from kernel images.
    #[command(subcommand)]
    Certs(certs::CertsCmd),
    /// Generate a deterministic signed corpus (modules as sign-file signs them, files as
    /// evmctl signs them, bad items of every class, a manifest of expected verdicts).
    #[cfg(feature = "generator")]
    Gen(gen::GenArgs),
    /// The main job: verify a corpus across cores with caching, against its manifest, and
    /// report throughput and efficiency against the ceiling measured in the same run.
    ///
    /// With no options: generate corpora/default.toml once (cached), then a cold and a
    /// warm pass. Exit 1 when any verdict disagrees with the manifest.
    Run(run::RunArgs),
    /// Every compiled crypto backend (mb, aws-lc, ring, rustcrypto, openssl, kernel) on the
    /// same corpus in one process: verify/s per algorithm, engine items/s and efficiency,
    /// and whether they all give the same verdicts.
    ///
    /// For each signature class in the corpus (e.g. RSA-2048/sha256, P-384/sha384) it
    /// measures verifications per second per thread of one real corpus signature with a
    /// pre-parsed key, for every backend, and the ratio to the row's fastest; a backend
    /// lacking the algorithm shows "unsupported", never a number. Then a cold pass of the
    /// engine over the whole corpus per backend (cache off), with its efficiency against a
    /// ceiling made of that backend's figures; items a backend cannot verify are skipped
    /// for it and counted. All figures come from this run, in round-robin rounds
    /// (--rounds), medians reported.
    ///
    /// Same-run agreement: every item's verdict and errno from every backend able to
    /// verify it are compared. Exit status: 0 when all agree, 1 when any item's verdicts
    /// differ (the items are named, with every backend's verdict), 2 on usage or I/O
    /// errors. Backends compiled in but unusable here (the kernel one without keyrings)
    /// are listed with the reason.
    ///
    /// Example: trustbench backends --spec corpora/default.toml --threads 2 --json backends.json
    Backends(backends::BackendsArgs),
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode, trustbench::Error> {
    let command = match cli.command {
        Some(c) => c,
        // No subcommand: exactly `trustbench run` with its defaults.
        None => Cli::try_parse_from(["trustbench", "run"])
            .map_err(|e| trustbench::Error::usage(e.to_string()))?
            .command
            .ok_or_else(|| trustbench::Error::usage("internal: run has no defaults"))?,
    };
    match command {
        Cmd::Verify(a) => verify::run(a),
        Cmd::Keyring(k) => keyring::run(k),
        Cmd::Run(a) => run::run(a),
        Cmd::Backends(a) => backends::run(a),
        #[cfg(feature = "generator")]
        Cmd::Gen(a) => gen::run(a),
        Cmd::Certs(c) => certs::run(c),
        Cmd::Merge(a) => merge::run(a),
    }
}
