//! The `trustbench` binary: a thin clap front end over the library.

use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`trustbench … | head`), as command-line tools do,
    // instead of panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("trustbench: {e}");
            ExitCode::from(2)
        }
    }
}
