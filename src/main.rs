//! The `ethpeer` command: parses the command line, runs one verb, and reports failure as a
//! single `ethpeer: <message>` line on stderr with exit status 1. The verbs live in [`cli`].

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ethpeer: {e}");
            ExitCode::FAILURE
        }
    }
}
