//! Command-line interface: one file per subcommand.

mod backends;
mod bench;
mod capacity;
mod certs;
mod compare;
mod exports;
#[cfg(feature = "generator")]
mod gen;
mod keyring;
mod merge;
#[cfg(feature = "generator")]
mod pq;
mod progress;
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
    /// Sweeps: the benchmark over every combination of the swept settings (thread count,
    /// backend, corpus spec), in one comparison table.
    ///
    /// The combinations run round robin (--rounds, each round one measured repeat of every
    /// combination, the first rotating) so that load drift hits all of them; each row
    /// gives the median with its 95% bootstrap interval, and its throughput relative to the
    /// first combination. A progress bar shows on a terminal. Exit status: 0, 1 when any
    /// run disagreed with its manifest, 2 on usage or I/O errors.
    ///
    /// Example: trustbench bench --sweep threads=1,2 --sweep backend=mb,aws-lc --markdown sweep.md
    Bench(bench::BenchArgs),
    /// The regression gate: judge a run report against a baseline, every figure against
    /// the noise the two runs measured themselves.
    ///
    /// A figure regresses when it is worse than --threshold percent AND the two runs' 95%
    /// intervals do not overlap. By default the gate judges efficiency (throughput over
    /// the ceiling measured in the same run), which a slower CI machine does not move.
    /// Prints a Markdown table fit for a pull-request comment.
    ///
    /// Exit status: 0 no regression, 1 a regression beyond the threshold, 2 usage or I/O
    /// error, 3 not comparable (different corpus, schema, or — for timing metrics —
    /// testbed).
    ///
    /// Example: trustbench run --json new.json && trustbench compare results/baseline.json new.json --markdown comment.md
    Compare(compare::CompareArgs),
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
    /// Capacity planning: how long N items take on C cores, and the fewest cores that meet
    /// a deadline, from a scaling model fitted to a thread sweep.
    ///
    /// The sweep is measured here (cold passes, cache off, at 1..=--threads threads, each
    /// beside the raw signature primitive at the same thread count) or read from saved
    /// `trustbench run --scaling` reports (--from, e.g. recorded on a machine with more
    /// cores; several are pooled when they share testbed and corpus). Two curves are
    /// fitted by least squares: the engine's items/s and the primitive's verifications/s,
    /// so the answers separate the machine's limit (a perfect engine would follow the
    /// primitive) from the engine's. The model is the Universal Scalability Law X(N) =
    /// λN / (1 + σ(N−1) + κN(N−1)) when the sweep has at least 3 thread counts, else
    /// Amdahl's law (κ = 0); with as many thread counts as parameters the fit is exact and
    /// constrains nothing, and the report says so (WEAK FIT). The report prints the
    /// models, parameters, R² and RMSE, and the assumptions; it is saved as
    /// results/capacity/STAMP-CORPUS.json with its plot (measured points, fitted curves)
    /// as .svg beside it.
    ///
    /// Exit status: 0 ok, 1 when the sweep's run disagreed with the corpus manifest, 2 on
    /// usage or I/O errors (a missing file, reports of different testbeds or corpora, a
    /// sweep with one thread count).
    ///
    /// Example: trustbench capacity --spec corpora/default.toml --threads 2 --items 50000 --deadline 10
    ///
    /// Example: trustbench capacity --from results/runs/big-machine.json --cores 16,32 --deadline 2
    Capacity(capacity::CapacityArgs),
    /// What moving module signing and IMA appraisal from RSA-4096 or P-384 to ML-DSA
    /// costs on this machine: one distribution's module set (and IMA v3 files) signed
    /// each way, measured interleaved under Linux 7.2's rules: verify time for the set on
    /// 1 and N cores, per-module p50/p99, bytes added on disk, IMA v3 throughput, each as
    /// a ratio to RSA-4096, with a Markdown table, an SVG chart and an HTML page.
    ///
    /// Example: trustbench pq
    ///
    /// Example: trustbench pq --modules 400 --files 200 --rounds 3
    #[cfg(feature = "generator")]
    Pq(pq::PqArgs),
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
        Cmd::Capacity(a) => capacity::run(a),
        #[cfg(feature = "generator")]
        Cmd::Pq(a) => pq::run(a),
        #[cfg(feature = "generator")]
        Cmd::Gen(a) => gen::run(a),
        Cmd::Certs(c) => certs::run(c),
        Cmd::Merge(a) => merge::run(a),
        Cmd::Compare(a) => compare::run(a),
        Cmd::Bench(a) => bench::run(a),
    }
}
