//! Runs resource agent actions on this node: one action with its timeout
//! (killing the agent's whole process group when it overruns), several in
//! parallel with a limit, recurring monitors, and the operation history the
//! controller will publish. Resource classes live in their own modules.
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "executor (`src/executor/`, `agents/`, `src/cli/ra.rs`, `src/cli/resource.rs`)")
//!
//! Runs resource agent actions on this node.
//!
//! - `process.rs`: one child in its own process group with a deadline; on timeout the
//!   whole group gets SIGKILL. Output readers are abandoned shortly after the agent exits
//!   (daemons it started may keep the pipes open).
//! - `ocf.rs`: the ocf class as Pacemaker runs OCF 1.1 agents (environment, HA_RSCTMP,
//!   OCF_RESKEY_CRM_meta_*, exit reason from `ocf-exit-reason:` on stderr); parameter
//!   validation against the agent's meta-data (unknown/missing → rc 2 before running);
//!   rc 5 when the script is missing. Every result goes to `history.rs`.
//! - `rc.rs`: OCF exit codes and their meanings. `metadata.rs`: meta-data XML (quick-xml).
//! - `parallel.rs`: many actions with a concurrency limit. `monitor.rs`: recurring monitors
//!   (a thread each, stopped and joined on stop/drop).
//! - `history.rs`: latest result per (resource, action, interval): call id, rc,
//!   last-rc-change, exec time, exit reason. `OpHistory::open(file)` persists it
//!   (`<state_dir>/op-history.json`, write + fsync + rename on every record, via
//!   `store::persist`) and reloads it, so call ids and last-rc-change survive a restart;
//!   a corrupt file is reported and kept aside, never reset silently.
//! - `primitive.rs`: lenient reader of `[[primitive]]` from the cluster TOML (until the config
//!   module's model replaces it); maps an action name to its op timeout/interval (`probe` =
//!   monitor with interval 0). When the file loads, its ops are the model's (`use_model_ops`:
//!   derived monitor intervals and added monitors included).
//! - `src/shims/` (its own module on top, beside the CLI; the executor's side of
//!   the contract, the symlinks, env names and attribute file, is
//!   `executor/agent_env.rs`): `crm_attribute`, `crm_master`, `attrd_updater`, `crm_node`, `crm_mon` and
//!   `pacemakerd` dispatched on argv[0] of the `paceline` binary (see `src/bin/paceline.rs`);
//!   symlinks are installed in `<state_dir>/shims`, which is put first on the agents' PATH
//!   and set as HA_SBIN_DIR (Pacemaker's own agents call `${HA_SBIN_DIR}/crm_attribute`).
//!   Attributes an agent sets go to `<state_dir>/attributes.json` (node → name → value;
//!   changed under `flock` of `attributes.json.lock` and replaced by rename,
//!   so concurrent agents lose no update;
//!   emptied when the daemon starts: they are transient, as Pacemaker's attrd keeps them),
//!   which the daemon polls and replicates through the DC; a query answers from that file
//!   first, then from the replicated status (`Request::Report`), so an agent reads what
//!   other nodes' agents wrote; a node the cluster does not have is refused (rc 105).
//!   Promotion scores are `master-<resource without clone suffix>`. `crm_node` (-n, -i,
//!   -q, -l, -p) answers from pacelined's membership over its API socket
//!   (`PACELINE_SOCKET`), or, when no daemon answers (`resource exec`, a stopped or
//!   hung daemon), with the local name and id, but `-q` then fails (exit 102, no
//!   output): quorum is never claimed without a daemon saying so.
//!   `shims/crm_mon.rs`: `crm_mon -1 [--output-as=xml|--as-xml]` rendered from the report in
//!   Pacemaker's element/attribute order (agents such as resource-agents' `pgsql` grep it
//!   line by line for the promoted instance and online nodes); the report's fencing
//!   history becomes `<fence_history>` with one `<fence_event action target client
//!   origin status=success|failed [exit-reason] delegate completed>` each, newest
//!   first (the text form lists none). `pacemakerd -$` only tells
//!   a Pacemaker version (2.1.7, matching crm_feature_set 3.19.0): resource-agents'
//!   `ocf_local_nodename` asks `crm_node -n` only when it finds one, else takes the host
//!   name, which in the lab (and on machines whose host name differs) is not the node.
//! - `catalog.rs`: agents of every class for `paceline ra`: ocf (OCF root), builtin
//!   (parameters documented in code beside the agents), systemd (service unit files in the
//!   unit directories; no D-Bus needed to list), stonith (`/usr/sbin/fence_*`, described by
//!   their own metadata). lsb is not a class here (run init scripts as systemd units).
//! - CLI: `paceline ra list [CLASS]`, `paceline ra info CLASS[:PROVIDER]:TYPE`,
//!   `paceline resource exec --config FILE RSC ACTION [--output json]`.
//! - `builtin.rs`: the builtin class, run on a thread the executor abandons on timeout.
//!   `dummy.rs`: `builtin:dummy` (param state_dir): runs nothing, keeps stopped/started/
//!   promoted in a state file per instance (monitor 7/0/8), for the demo and tests on
//!   machines without resource agents.
//!   `ipaddr.rs`: `builtin:ipaddr` (params ip, cidr_netmask, nic, label, arp_count,
//!   arp_interval ms, dad, dad_wait ms (default 100), dad_timeout ms (IPv6, default 5000)): rtnetlink add/del, IPv4: ARP probe for duplicates before start; IPv6: the kernel's DAD waited for (about 1 s; dad = false adds with nodad) and unsolicited neighbour advertisements (override flag) repeated per arp_count;
//!   gratuitous ARP on an AF_PACKET socket (first one before start returns, the rest
//!   in the background), monitor = address present and link up/lower-up.
//! - `filesystem.rs`: `builtin:filesystem` (params device, directory, fstype, options,
//!   check_timeout, write_probe): mount(2) for local types and tmpfs/bind, the `mount`
//!   helper for nfs*/glusterfs/cifs/auto; monitor reads /proc/self/mountinfo (never blocks)
//!   then lists the directory (and writes a probe) on an abandoned-on-deadline thread;
//!   stop signals holders (cwd/root/exe/fd/maps under the mount) TERM then KILL.
//!   nfs/nfs4/glusterfs/cifs without their mount helper (or kernel support that cannot
//!   be loaded) are rc 5 naming the Debian package. Tested: tmpfs, bind, a hung FUSE
//!   mount (bindfs SIGSTOPped: the monitor fails within check_timeout); NFS and GlusterFS
//!   mounts are not tested on this machine: its kernel has no NFS client
//!   (/proc/filesystems) and cannot load modules.
//! - `agents/pgsql` (`ocf:paceline:pgsql`, install under `resource.d/paceline/`): start
//!   = hot standby following whichever `peers` entry is not in recovery (a server that
//!   last ran as a primary on an older timeline than that primary's is first `pg_rewind`-ed
//!   from it; `wal_log_hints = on` is kept in postgresql.auto.conf for that); promote =
//!   `pg_promote`; demote = clean shutdown + restart as standby; monitor 8/0 and, on a
//!   standby that is not streaming, re-points `primary_conninfo` to the current primary and
//!   reloads. Promotion score via `crm_master`: primary 1001, standby 1000 minus its lag
//!   behind the most advanced reachable standby (1 per 64 kB).
//! - `systemd.rs`: the systemd class over zbus 5 (zbus 6 needs Rust 1.87; the workspace
//!   pins 1.85): LoadUnit for LoadState/ActiveState/SubState, StartUnit/StopUnit waiting
//!   for the job's JobRemoved signal; system bus, or `PACELINE_SYSTEMD_BUS` (tests serve a
//!   systemd double on a private `dbus-daemon --session`).

pub mod agent_env;
pub mod builtin;
pub mod catalog;
pub mod dummy;
pub mod filesystem;
pub mod history;
pub mod installed;
pub mod ipaddr;
pub mod metadata;
pub mod monitor;
pub mod ocf;
pub mod parallel;
pub mod primitive;
pub mod process;
pub mod rc;
pub mod systemd;

pub use history::{OpHistory, OpRecord};
pub use ocf::{AgentId, OcfAction, OcfRunner};
pub use process::{ProcessOutcome, ProcessStatus};
pub use rc::OcfRc;

use thiserror::Error;

/// Errors that prevent an action from being attempted at all (as opposed to
/// an agent that ran and failed, which is an [`OcfRc`]).
#[derive(Debug, Error)]
pub enum ExecError {
    #[error("cannot start agent {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid agent name {0:?}: expected CLASS:PROVIDER:TYPE (e.g. ocf:heartbeat:Dummy)")]
    BadAgentName(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    #[error("cannot parse meta-data of {agent}: {message}")]
    MetaData { agent: String, message: String },
}
