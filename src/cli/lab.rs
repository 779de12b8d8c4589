//! `paceline lab ...`: helpers of the namespace lab (`src/lab/`), hidden from
//! the help: the lab's fence agent is run by the daemons through a script.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// The lab's fence agent (fence-agents stdin protocol on standard input).
    FenceAgent,
    /// ICMP echo to an address until it answers or the timeout passes
    /// (exit 0 and the round trip in ms, or 1).
    Ping {
        address: std::net::Ipv4Addr,
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
    },
}

pub fn run(cmd: LabCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LabCommand::FenceAgent => {
            let stdin = std::io::stdin();
            let code = crate::lab::fence_agent::run(stdin.lock(), std::io::stdout());
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        LabCommand::Ping {
            address,
            timeout_ms,
        } => match crate::lab::probe::icmp_echo(
            address,
            std::time::Duration::from_millis(timeout_ms),
        ) {
            Ok(rtt) => {
                println!("{address} answered in {:.1} ms", rtt.as_secs_f64() * 1000.0);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                println!("{address}: {e}");
                Ok(ExitCode::from(super::EXIT_FAILED))
            }
        },
    }
}
