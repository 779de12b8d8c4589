//! The `paceline` command line. Each command group lives in its own module;
//! this file only wires them into one clap definition and maps results to
//! exit codes (0 ok, 1 operation failed, 2 usage or configuration error).

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub mod cluster;
pub mod config;
pub mod configure;
pub mod constraint;
pub mod demo;
pub mod fence;
pub mod fencing;
pub mod lab;
pub mod lifecycle;
pub mod log;
pub mod node;
pub mod ra;
pub mod remote;
pub mod report;
pub mod resource;
pub mod resource_edit;
pub mod shell;
pub mod simulate;
pub mod status;
pub mod status_tree;
pub mod ticket;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Exit code of an operation that ran and failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "paceline",
    version,
    about = "Cluster resource manager with fencing"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the scheduler offline on a config or a Pacemaker CIB and print its plan.
    Simulate(simulate::SimulateArgs),
    /// Explain why a resource is placed where it is, or why it cannot run.
    Explain(simulate::ExplainArgs),
    /// Check, convert and import configurations.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Cluster-wide administration: setup, start/stop on every node, sync,
    /// node add/remove, keys, quorum overrides.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Show the state of the cluster as this node sees it.
    Status(status::StatusArgs),
    /// Fence a node, test a fence device, or show the fencing history.
    Fence(fence::FenceArgs),
    /// Resource agents: list and describe them.
    #[command(subcommand)]
    Ra(ra::RaCommand),
    /// Act on resources.
    #[command(subcommand)]
    Resource(resource::ResourceCommand),
    /// Build a two-node cluster in network namespaces, cut the active node's
    /// power and show the failover (root; needs only iproute2).
    Demo(demo::DemoArgs),
    /// Helpers of the namespace lab used by the demo and the end-to-end tests.
    #[command(subcommand, hide = true)]
    Lab(lab::LabCommand),
    /// The cluster's running configuration: show it, load a new one.
    #[command(subcommand)]
    Configure(configure::ConfigureCommand),
    /// Nodes: standby, online, maintenance, attributes.
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Cluster properties: set, unset, list, describe.
    #[command(subcommand)]
    Property(node::PropertyCommand),
    /// Location, colocation and order constraints: add, remove, list.
    #[command(subcommand)]
    Constraint(constraint::ConstraintCommand),
    /// The fencing topology: fence devices and levels.
    #[command(subcommand)]
    Fencing(fencing::FencingCommand),
    /// Tickets (multi-site): grant, revoke, standby, activate, list
    /// (crm_ticket).
    #[command(subcommand)]
    Ticket(ticket::TicketCommand),
    /// An interactive shell of these same commands, crmsh-like: levels
    /// (`resource`, then `up`), tab completion of commands, flags and the
    /// cluster's names, history, `help` everywhere.
    Shell(shell::ShellArgs),
    /// One archive for support (crm_report, pcs cluster report): this
    /// node's configuration with secrets redacted, status, fencing history,
    /// the daemon's journal of a time window, versions.
    Report(report::ReportArgs),
    /// The daemon's log lines, followed as they come (journalctl -u
    /// pacelined -f), narrowed to a resource, node, operation or priority.
    Log(log::LogArgs),
}

/// Entry point of the `paceline` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    exit_code(run(cli.command))
}

/// Runs one command (the one-shot CLI's and the shell's).
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Simulate(args) => simulate::run_simulate(args),
        Command::Explain(args) => simulate::run_explain(args),
        Command::Config(cmd) => config::run(cmd),
        Command::Cluster(cmd) => cluster::run(cmd),
        Command::Status(args) => status::run(args),
        Command::Fence(args) => fence::run(args),
        Command::Ra(cmd) => ra::run(cmd),
        Command::Resource(cmd) => resource::run(cmd),
        Command::Lab(cmd) => lab::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Configure(cmd) => configure::run(cmd),
        Command::Node(cmd) => node::run_node(cmd),
        Command::Property(cmd) => node::run_property(cmd),
        Command::Constraint(cmd) => constraint::run(cmd),
        Command::Fencing(cmd) => fencing::run(cmd),
        Command::Ticket(cmd) => ticket::run(cmd),
        Command::Shell(args) => shell::run(args),
        Command::Report(args) => report::run(args),
        Command::Log(args) => log::run(args),
    }
}

/// The exit code of a command's result, its error printed.
pub fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("paceline: {err:#}");
            if is_config_error(&err) {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
    }
}

/// A configuration the user must fix is a usage error (exit 2), wherever in
/// the error chain it sits; anything else is a failed operation (exit 1).
fn is_config_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<crate::config::ConfigError>()
            || cause.is::<crate::config::DurationError>()
            || cause.is::<paceline_fencing::config::ConfigError>()
            || cause.is::<paceline_fencing::device::InvalidDevice>()
            || cause.is::<crate::config::cib::CibError>()
            || cause.is::<crate::config::edit::EditError>()
    })
}
