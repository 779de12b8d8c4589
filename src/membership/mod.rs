//! Sans-IO membership: failure detection per link, membership views and quorum.
//!
//! The daemon (and the simulator) feed it ticks and received messages with the
//! current time; it answers with messages to send and notifications. It never
//! reads a clock, owns a socket or draws a random number.
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "Membership, quorum and the cluster transport (area: member)")
//!
//! - `src/wire/` — codec only, no I/O. `codec.rs` seals/opens datagrams: a clear-text
//!   header (magic, protocol version, cluster tag, sender id, incarnation, sequence)
//!   authenticated as AEAD associated data, a postcard payload encrypted with
//!   XChaCha20-Poly1305 under a key derived (HKDF-SHA256) from the authkey file and the
//!   cluster name. The nonce comes from (sender, incarnation, sequence), so nothing
//!   random travels. `Decoder` drops and counts malformed, other-cluster, forged,
//!   replayed and incompatible-version datagrams (`WireCounters`); versions
//!   `1..=PROTOCOL_VERSION` are opened. It only removes duplicates: it keeps a
//!   64-wide anti-replay window (`replay.rs`) for each of a sender's 4 most
//!   recently used incarnations and never refuses an incarnation for being
//!   lower or higher (which incarnation is live is membership's call, on proof
//!   of liveness; before, one authentic packet with a huge incarnation cut its
//!   sender off for good). It accepts one or two keys (`Decoded::key_id` says
//!   which opened a datagram).
//!   `keyring.rs` (`KeyRing`, sans-IO) rotates the key without a partition, as
//!   corosync/knet: a node that reloads a new authkey file accepts both keys
//!   and keeps sending with the old; its heartbeats advertise the ids of the
//!   keys it accepts (`ClusterKey::id`, an HKDF output apart from the cipher
//!   key); once every member of its view advertises the new key it sends with
//!   it; once every member's latest datagram came under the new key the old is
//!   refused. Procedure: install the new file on every node, then reload each
//!   (SIGHUP: `reload.rs` calls `Daemon::reload_authkey`). A node down meanwhile starts with
//!   the new file; one left with the old file cannot join (counted as forged).
//!   `message.rs` holds the messages (heartbeat; leave; channel frames); what
//!   travels inside channel frames (`ClusterMessage`, `StoreMessage`) is the
//!   node core's (`src/node/protocol.rs`, see the design notes of `src/daemon/mod.rs`). Protocol version 2 added `Message::Channel`;
//!   version 3 changed the channel's cluster messages (reports, notification
//!   meta, exit reasons, fencing history), so a channel frame needs 3. Version 4
//!   changed the heartbeat (a new variant, `Message::Heartbeat`): its sender's
//!   stamp, for each node it hears that node's incarnation and latest stamp
//!   (`Echo`), and the key ids it accepts. Every message is sealed with the
//!   oldest version that can express it (`Message::version_needed`; heartbeats
//!   and channel frames need 4, leave 1). An older build's heartbeat
//!   (`LegacyHeartbeat`, sealed as version 1) is still decoded so that its node
//!   is refused by name ("runs an older build…", rate-limited), never counted:
//!   it proves no liveness; an older build names ours "speaks protocol version
//!   4". There is no rolling upgrade across 3 → 4 (nor 2 → 3): those
//!   clusters are upgraded together. From release 0.1.0 (version 4) on,
//!   each release speaks the one before (`version.rs`, issue 21): version 5
//!   appends to the heartbeat a tail (`HeartbeatTail`, after the fields
//!   version 4 decodes; postcard's `from_bytes` ignores trailing bytes) with
//!   the range of versions its sender speaks; a heartbeat without one is
//!   release 0.1.0's, speaking 4 only. Heartbeats and leaves keep the
//!   version byte 0.1.0 opens (4, 1); channel frames carry the view's
//!   version (`Encoder::seal_speaking`).
//! - `src/membership/` — sans-IO. `machine.rs`: `Membership::tick(now)` and
//!   `receive(now, from, incarnation, msg)` return `Output::Send` and `Output::Notice`.
//!   A peer is a member while any of its links was heard within `token_timeout` AND its
//!   last heartbeat echoes this node's *current* incarnation (`MembershipConfig::
//!   incarnation`) with one of this node's stamps (its machine clock in ms) less
//!   than 2 x `token_timeout` old (so one-way links give symmetric views, and no
//!   recording counts: it echoes an older incarnation, or stamps that age). A
//!   peer's incarnation is taken only from a heartbeat that proves liveness that
//!   way (`incarnation_of`); heartbeats of another incarnation are only echoed
//!   back (the highest recent one), so a restarted peer can prove itself. A
//!   proven incarnation lower than a live proven one is refused
//!   (`Notice::Refused`, two processes claim the id); once the old one is
//!   silent, the lower one is taken (a node whose clock or state went back).
//!   A view id above `MAX_VIEW_ID` (2^63-1) is refused, so view ids never
//!   overflow. A change of
//!   the member set installs a view with id `max(all ids seen)+1`; members with the same
//!   member set adopt the highest id, so a partition converges on one (id, members). A
//!   restarted peer (another proven incarnation) forces a new view. A tick gap above
//!   `token_timeout` means this node was paused: it forgets what it heard, drops to a
//!   singleton view and claims no quorum for one `token_timeout` while it rejoins.
//!   A node starts in view 0, which is never quorate and which the node core
//!   ignores: it gathers. The first view is installed when a peer proves
//!   itself, or after one `token_timeout` heard by nobody (a view of itself),
//!   or at the first tick when it is the only node configured (a one-node
//!   cluster used to wait in view 0 forever, and a lone two-node member
//!   without wait_for_all used to be a quorate DC at once, before a peer
//!   booting beside it could be heard).
//!   Each peer's advertised range is kept from its proven incarnation's
//!   heartbeats; one sharing no version with this node is refused
//!   (`Refusal::NoCommonVersion`); `protocol_version()` is the highest
//!   version every member of the view speaks (`wire::negotiate`), announced
//!   as `Notice::ProtocolVersion` when a view changes it and shown in
//!   `MembershipStatus::protocol_version`; `version_with(peer)` caps it at
//!   what that peer advertised (frames still queued for a peer of the
//!   previous release that dropped out of the view).
//!   `quorum.rs`: votequorum rules (votes, expected votes, two_node, wait_for_all,
//!   last_man_standing with a window driven by the caller, auto_tie_breaker, the
//!   operator's `unblock` override with who/when); each status carries a one-line reason.
//! - `src/sim/` — deterministic simulator: `rng.rs` (SplitMix64), `net.rs` (loss, delay
//!   and hence reordering, duplication, partitions, one-way blocks, per-link cuts),
//!   `membership.rs` (N machines through the real wire codec and a `KeyRing` each,
//!   crash/restart (also with a chosen incarnation)/leave/pause, recording a
//!   node's datagrams and injecting them, sealing as a key holder, reloading a
//!   node's key, a notice log for invariant checks). `for_seeds` runs many seeds and prints the
//!   failing one; `PACELINE_SIM_SEED=N` replays it. Other machines (store, controller)
//!   are meant to join as further per-node components driven by the same event queue.
//! - `src/daemon/identity.rs`: the incarnation, `<state_dir>/incarnation.json`,
//!   the last one plus one (the wall clock in µs only on a first start, which is
//!   above any older build's start-time incarnation), written durably before
//!   any packet goes out; refusing to start when exhausted. Refusals of a
//!   configured node's heartbeats and heartbeats from unconfigured node ids are
//!   logged once a minute per node and kind, with the count held back
//!   (`RateLimitedLog`; before, one line per packet, and refusals were
//!   silent). Channel frames are taken only from a peer's proven incarnation,
//!   and the channel follows that one (`Channel::observe`: any change, also to
//!   a lower one, is a restart); the channel itself refuses a frame of an
//!   incarnation below the one it knows (a stray frame of the previous
//!   process was delivered into the new process's stream before).
//!   `keys.rs`: `reload_authkey` and carrying out each rotation step.
//! - `src/daemon/`, `src/api/`: see the design notes of `src/daemon/mod.rs`.
//! - CLI: `src/cli/status.rs` (`paceline status [--output json] [--socket]`),
//!   `src/cli/cluster.rs` (`cluster keygen [--file] [--force]`, `cluster unblock`).
//! - Tests: `src/wire` unit tests (tamper, replay, versions, random/truncated input,
//!   huge incarnations, two keys, the rotation's steps), `src/membership` unit
//!   tests (echo proof, view id range, older build refused),
//!   `tests/membership_sim.rs` (seeded invariants; issue 15: replay of a dead
//!   peer's recorded datagrams after a cold restart, a restart with a lower
//!   incarnation, one packet with a huge incarnation, a two-node key
//!   rotation), `tests/netns_membership.rs` also replays node2's datagrams
//!   captured on the bridge (AF_PACKET, no key) to a cold-started node1 and
//!   rotates the key of two real daemons by SIGHUP, `tests/membership_quorum.rs` +
//!   `tests/quorum/*.txt` (data-driven quorum; `PACELINE_REWRITE=1` regenerates),
//!   `tests/netns_membership.rs` (real daemons in namespaces `plm<pid><n>*`, cleaned by a
//!   Drop guard). Fuzzing of the codec and the channel: see "Fuzzing" in ARCHITECTURE.md.
//!   `bench/membership-detect` (root, python3): detection time, idle false losses, CPU, RSS.
//!
//! ## Threat model: the network
//!
//! - Who can send what. Anyone who reaches a node's link addresses can send
//!   any UDP datagram, and record and replay what the nodes send: it carries
//!   the cluster name's tag, the sender id, incarnation and sequence in clear
//!   (nothing else). Without the authkey nothing can be forged or read: every
//!   datagram is opened with XChaCha20-Poly1305 under a key derived from the
//!   authkey and the cluster name, or dropped and counted (`WireCounters`).
//! - What a recording can do. A replay within one incarnation of the receiver
//!   is dropped by the windows; after the receiver restarted, replayed
//!   heartbeats echo its previous incarnation and replayed channel frames come
//!   from an incarnation that proved nothing, so neither counts (issue 15's
//!   replay test). A heartbeat held back and delivered late keeps its sender a
//!   member at most 2 x `token_timeout` after it was sent. A leave is taken
//!   only from the proven incarnation.
//! - What is trusted. Every holder of the authkey is a cluster node: it can
//!   claim any node id, any incarnation, any view. What bounds a faulty (not a
//!   malicious) key holder: a view id above `MAX_VIEW_ID` is refused, an
//!   incarnation needs proof of liveness and a lower one is refused while a
//!   higher one lives, channel messages have size and window bounds
//!   (`ChannelLimits`), every refusal is logged, rate-limited. Datagrams
//!   from unconfigured node ids are opened (they hold the key) but get no
//!   membership or channel state.
//! - What it cannot stop. Anyone on the path can drop, delay (within the
//!   bounds above) or flood datagrams: that is a partition, which quorum and
//!   fencing handle; it can also exhaust a node's CPU with forged datagrams
//!   (each costs one or two AEAD checks). Traffic analysis (who talks, how
//!   often, sizes) is visible. The authkey file is the whole secret: anyone
//!   who reads it is a cluster node (`cluster keygen` writes it 0600; the
//!   daemon refuses a file open to group or others, `daemon::keys`). No forward secrecy: a key read
//!   later opens recordings of the past. Incarnations come from the state
//!   directory: restoring it from a backup makes a node reuse incarnations,
//!   hence AEAD nonces (remove `incarnation.json` after a restore, then the
//!   wall clock seeds it).

mod machine;
pub mod quorum;
pub mod witness;

pub use machine::{
    MAX_LINKS, MAX_VIEW_ID, Membership, MembershipConfig, MembershipStatus, Notice, Output,
    PeerState, PeerStatus, Refusal, View,
};
pub use quorum::{QuorumConfig, QuorumState, QuorumStatus, Unblock};
pub use witness::{WitnessCommand, WitnessEvent, WitnessStatus};
