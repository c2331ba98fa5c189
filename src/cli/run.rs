//! `trustbench run`: the main job. Until the parallel engine lands, it verifies the bundled
//! fixture corpus (made by sign-file and evmctl, see corpora/fixtures/README.md) and checks
//! each verdict against the manifest `expected.tsv`.

use super::setup::TrustArgs;
use super::verify::{verify_bytes, KindArg};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Fixture directory holding expected.tsv.
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
}

pub fn run(a: RunArgs) -> Result<ExitCode, String> {
    let dir = a
        .corpus
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpora/fixtures"));
    let manifest = dir.join("expected.tsv");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let (mut total, mut agree) = (0usize, 0usize);
    println!("trustbench run: fixture corpus {}", dir.display());
    println!(
        "{:<40} {:<7} {:<9} {:<13} {:<9} {:<13} ok",
        "item", "kind", "expected", "", "got", ""
    );
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 5 || f[0] == "path" {
            continue;
        }
        let (path, kind, verdict, errno, trust) = (f[0], f[1], f[2], f[3], f[4]);
        let args = TrustArgs {
            trust: trust
                .split(',')
                .filter(|s| !s.is_empty() && *s != "-")
                .map(|s| dir.join(s))
                .collect(),
            crypto: "full".into(),
            ..TrustArgs::default()
        };
        let store = args.build()?;
        let p = dir.join(path);
        let data = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let k = if kind == "module" {
            KindArg::Module
        } else {
            KindArg::Ima
        };
        let v = verify_bytes(&store, &p, &data, k, false);
        let got_errno = v.errno.map(|e| e.name()).unwrap_or_else(|| "-".into());
        let ok = v.class.name() == verdict && got_errno == errno;
        total += 1;
        agree += ok as usize;
        println!(
            "{:<40} {:<7} {:<9} {:<13} {:<9} {:<13} {}",
            path,
            kind,
            verdict,
            errno,
            v.class.name(),
            got_errno,
            if ok { "yes" } else { "NO" }
        );
    }
    println!("{agree}/{total} verdicts agree with the manifest");
    Ok(if agree == total && total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
