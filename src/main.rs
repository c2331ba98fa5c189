//! The `trustbench` binary: a thin clap front end over the library.

use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("trustbench: {e}");
            ExitCode::from(2)
        }
    }
}
