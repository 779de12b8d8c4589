//! The tokio runtime that drives the sans-IO machines with real sockets and clocks.

use std::process::ExitCode;

/// Entry point of `pacelined`.
pub fn main() -> ExitCode {
    eprintln!("pacelined: not implemented yet");
    ExitCode::from(1)
}
