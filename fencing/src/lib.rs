//! Fence devices for paceline: Redfish, IPMI over LAN (RMCP+), watchdog and
//! external `fence_*` agents, plus fencing topology levels.
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "fencing (crate `paceline-fencing`)")
//!
//! Every device implements one blocking trait, `device::FenceDevice::execute(action)
//! -> ActionReport | DeviceError` (`ActionReport`: verified power state + a transcript
//! of the steps, never a credential; `DeviceError`: a message naming what to check +
//! the device's output). `device::open(&DeviceConfig)` builds the device a
//! `[[fencing.device]]` table describes and wraps it in whole-action retries
//! (`retries`, default 1). Off/On/Reboot succeed only once the device reports the
//! new state (bounded by `power_timeout`). The daemon will run devices on a blocking
//! thread; the CLI calls them directly.
//!
//! - `fencing/src/redfish.rs`: native Redfish over reqwest + rustls. Service root and
//!   Systems collection discovery (the one system, or `system` = Id/Name/path; several
//!   systems without `system` is an error listing them); basic or session auth
//!   (session deleted at the end, also on error); TLS verified by default, `ca_file`,
//!   explicit `insecure`. Fast path: with `system` given as a path, a fence is
//!   POST `{system}/Actions/ComputerSystem.Reset` (the URI the spec prescribes) + a
//!   PowerState poll, nothing else; only when the BMC refuses is the system read, to
//!   use its advertised target / `ResetType@Redfish.AllowableValues` or to say which
//!   types it offers. Every HTTP status is checked (fence_redfish checks none): 401 →
//!   authentication error, 404 → check `system`, 4xx/5xx on reset → refused with the
//!   Redfish message. Reboot = ForceOff, verified Off, On, verified On
//!   (`reboot_method = "restart"`: one ForceRestart, only the final On verified).
//! - `fencing/src/ipmi/`: native IPMI 2.0 RMCP+ (lanplus), no ipmitool.
//!   `packet.rs` (RMCP, IPMI 1.5 session-less and 2.0 session wrappers, message
//!   checksums, integrity pad/trailer), `crypto.rs` (cipher suites 3 = HMAC-SHA1 /
//!   HMAC-SHA1-96 / AES-CBC-128 and 17 = HMAC-SHA256 / HMAC-SHA256-128 / AES-CBC-128;
//!   RAKP 2/3/4 codes, SIK, K1, K2; suite 0 is refused on purpose: it lets any
//!   password in), `session.rs` (Get Channel Authentication Capabilities, Open Session,
//!   RAKP 1-4 with the BMC's RAKP 2 and RAKP 4 codes verified, Set Session Privilege,
//!   encrypted + signed commands with retransmission, Close Session always),
//!   `mod.rs` (`IpmiDevice`: Chassis Control + Get Chassis Status poll; reboot
//!   `onoff` (verified both ways) or `cycle`). Suite 17 is tested only against
//!   reference values computed with Python's hmac/hashlib: neither ipmi_sim nor
//!   pyghmi offers it.
//! - `fencing/src/watchdog.rs`: `Watchdog` (open arms, WDIOC_SETTIMEOUT/GETTIMEOUT,
//!   WDIOC_KEEPALIVE, magic 'V' close disarms; dropped without `disarm` it stays
//!   armed, as a crash must), `Feeder` (feeds on each tick only while
//!   `watchdog_policy::should_feed` allows), and `WatchdogFence`, the survivor's
//!   `type = "watchdog"` device: it waits until 2 x `watchdog_timeout` after the loss
//!   and reports Off (self-fencing). Tested against the FUSE fake of /dev/watchdog
//!   from ../shared/peers (file, not char device 10:130), never a real driver here:
//!   what is proven is the ioctl/write/close sequence and the feeding decision;
//!   not proven: a driver's rounding of the timeout, nowayout hardware, a real reset.
//! - `fencing/src/agent.rs`: external `fence_*` agents: stdin key=value protocol,
//!   exit codes (status: 0 on, 2 off), process-group kill on timeout, secrets masked
//!   in output; `AgentDevice` checks `params` against the agent's `action=metadata`
//!   (unknown names refused with the valid ones listed; required ones satisfied by
//!   their deprecated aliases, e.g. login/username), metadata cached per process.
//! - `fencing/src/readiness.rs`: sans-IO gate "no resource starts until every node's
//!   first fencing level has passed a monitor" (per-node blockers with the device's
//!   error); used by `paceline fence check` and, through
//!   `service::fencing_readiness`, by the daemon (see below).
//! - `fencing/src/topology.rs`: sans-IO topology. Ordered levels per target
//!   node; a level passes only if all its devices pass, otherwise the next level is
//!   tried; earlier failures are reported with the outcome. `fencing_delay`
//!   combines static delay, a random share of `delay_max` (the draw is passed in) and
//!   the priority delay.
//! - `fencing/src/watchdog_policy.rs`: sans-IO feeding decision (feed only while
//!   healthy and quorate, seeing the peer, or not yet quorate since the daemon
//!   armed the watchdog in this boot and running nothing: sbd's "no quorum yet",
//!   so a node booting before its peers is not reset over and over; the daemon
//!   records its first quorum per boot id in the state directory, so a daemon
//!   restarted in the same boot gets no such grace) and the survivor's deadline
//!   (lost + 2 x watchdog_timeout).
//! - `fencing/src/secret.rs`, `history.rs`, `config.rs`: `Secret` (redacted
//!   Debug/Display) and 0600 checks; history as JSON lines (target, device, action,
//!   requester, start, end, result, output); `FencingSection`/`DeviceConfig` as
//!   typed values (durations as `Duration`; the duration-valued device settings
//!   of `DURATION_KEYS` in `durations`): paceline's config module builds them,
//!   the crate reads no text.
//! - `fencing/src/service.rs`: the fencing service, blocking, on this crate's
//!   types only: `fence_with_topology(section, FenceJob, progress)` (delays,
//!   levels, per-device delays, one history record per device attempt) and
//!   `fencing_readiness`; the daemon and `paceline fence` both call it.
//! - `src/cli/fence.rs`: `fence test --config F --device ID --action
//!   status|off|on|reboot|monitor [--output json]` (transcript, power, elapsed; a bad
//!   device table exits 2), `fence check` (monitor of every node's first level),
//!   `fence NODE [--action off|reboot|on] [--no-delay]` (static + random delay, then
//!   the topology locally, one history record per device attempt; `on` unfences),
//!   `fence history`.
//! - `src/daemon/`: pacelined arms the watchdog of a level that targets its own node
//!   before joining, feeds it every timeout/3 while the policy allows (quorate or
//!   seeing the peer), disarms it on a clean leave; `status` carries `warnings`
//!   (fencing disabled or not configured, watchdog starving).
//! - Tests: `fencing/tests/` (emulators started by `support/mod.rs`, also used by
//!   `tests/cli_fence.rs` and `tests/netns_membership.rs`): Redfish HTTP/HTTPS, IPMI
//!   on ipmi_sim and pyghmi, side by side with fence_redfish / fence_ipmilan, agents,
//!   fake watchdog. `bench/fence-latency` prints native vs Python agent medians.
//! - The DC fences lost nodes through the daemon's fencing service
//!   (`service::fence_with_topology`, shared with `paceline fence`). Before the delays it
//!   asks the target's first level for `status`: a target that already reports
//!   power off (it lost power, or lost the race) cannot race, so it is fenced
//!   without delay — the delays settle races between live nodes only.
//! - Readiness gate: every daemon monitors each node's first fencing level at
//!   start and after every config change (again every 5 s while one fails) and
//!   feeds `Input::FencingReady` (`daemon/readiness.rs`: one poller at most,
//!   a config change or SIGHUP replaces it); with `require_fencing_ready` (the daemon sets
//!   it) the controller starts and promotes nothing until they pass, and says
//!   which node blocks (`status` warns too).
//! - Priority delay: the DC sets `FenceRequest::target_has_priority` when the
//!   target runs a higher total `priority` than the DC's node (`priority_on`,
//!   Pacemaker's count: each active primitive's priority, inherited from its
//!   group or clone, +1 for a promoted instance of a resource whose priority
//!   is not 0); the fencing service then adds `[fencing] priority_delay`. The
//!   reference policy and the lab use it (pgsql-ha / db-ha priority 10), so
//!   the node running the primary wins a split whichever node it is;
//!   `tests/e2e_cluster.rs` cuts the interconnect with the primary on node2.
//! - A device without its own `timeout` gets the one `failover_budget` derives
//!   (`config::timers::apply_derived_timeouts`, daemon and CLI alike).
//! - Fencing history: `history.rs`'s JSON lines stay each fencer's own audit
//!   log (`paceline fence history`); what the cluster shows is the replicated
//!   `ClusterStatus::fencing_history` (see store and controller): every
//!   outcome the daemon's fencing service reports to its controller, DC
//!   fences and an operator's `paceline fence NODE` alike, confirmed or failed. The driver's
//!   `FenceOutcome` says the action done and the devices of the level that
//!   did it.
//! - Not yet: automatic unfencing on rejoin (`paceline fence NODE --action on`
//!   does it by hand).

pub mod agent;
pub mod config;
pub mod device;
#[doc(hidden)]
pub mod fuzz;
pub mod history;
pub mod ipmi;
pub mod readiness;
pub mod redfish;
pub mod secret;
pub mod service;
pub mod topology;
pub mod watchdog;
pub mod watchdog_policy;
