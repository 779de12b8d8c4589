//! What travels over the reliable channel between pacelined nodes: the
//! store's replication messages in wire form, the controller's requests and
//! results, config requests forwarded to the DC, and the join's reports. The
//! wire codec (`src/wire/`) only carries these as bytes in channel frames;
//! the nodes (daemon and simulator) encode and decode them here.

use serde::{Deserialize, Serialize};

use crate::controller::{ActionRequest, ActionResult, NodeReport, StatusPatch};
use crate::model::{ClusterStatus, StatusBeyondV4};
use crate::store::{Document, Version};

/// The replicated cluster document: config = the TOML source text exactly as
/// loaded (so `configure show` prints it), status = the cluster status.
pub type ClusterDocument = Document<String, ClusterStatus>;

/// The store's replication messages (`store::machine::Msg`) in wire form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoreMessage {
    Solicit {
        view: u64,
        term: u64,
    },
    Offer {
        view: u64,
        term: u64,
        doc: ClusterDocument,
    },
    Promised {
        view: u64,
        promised: u64,
    },
    Replicate {
        view: u64,
        doc: ClusterDocument,
    },
    Ack {
        view: u64,
        version: Version,
    },
    Forward {
        view: u64,
        patch: crate::controller::StatusPatch,
    },
    Patch {
        view: u64,
        base: Version,
        version: Version,
        patch: crate::controller::StatusPatch,
    },
    /// `Offer` with what version 4's form of the status leaves out (the
    /// tickets): a node synced whole from a peer gets the whole status.
    /// Protocol version 5; `ClusterMessage::for_version` sends `Offer` to
    /// a view speaking 4.
    OfferWhole {
        view: u64,
        term: u64,
        doc: ClusterDocument,
        beyond: StatusBeyondV4,
    },
    /// `Replicate` with the same (protocol version 5).
    ReplicateWhole {
        view: u64,
        doc: ClusterDocument,
        beyond: StatusBeyondV4,
    },
}

impl StoreMessage {
    pub fn from_store(msg: crate::store::machine::Msg<String, ClusterStatus>) -> Self {
        use crate::store::machine::Msg;
        match msg {
            Msg::Solicit { view, term } => StoreMessage::Solicit { view, term },
            Msg::Offer {
                view,
                term,
                mut doc,
            } => StoreMessage::OfferWhole {
                view,
                term,
                beyond: doc.status.take_beyond_v4(),
                doc,
            },
            Msg::Promised { view, promised } => StoreMessage::Promised { view, promised },
            Msg::Replicate { view, mut doc } => StoreMessage::ReplicateWhole {
                view,
                beyond: doc.status.take_beyond_v4(),
                doc,
            },
            Msg::Ack { view, version } => StoreMessage::Ack { view, version },
            Msg::Forward { view, patch } => StoreMessage::Forward { view, patch },
            Msg::Patch {
                view,
                base,
                version,
                patch,
            } => StoreMessage::Patch {
                view,
                base,
                version,
                patch,
            },
        }
    }

    pub fn into_store(self) -> crate::store::machine::Msg<String, ClusterStatus> {
        use crate::store::machine::Msg;
        match self {
            StoreMessage::Solicit { view, term } => Msg::Solicit { view, term },
            StoreMessage::Offer { view, term, doc } => Msg::Offer { view, term, doc },
            StoreMessage::Promised { view, promised } => Msg::Promised { view, promised },
            StoreMessage::Replicate { view, doc } => Msg::Replicate { view, doc },
            StoreMessage::Ack { view, version } => Msg::Ack { view, version },
            StoreMessage::Forward { view, patch } => Msg::Forward { view, patch },
            StoreMessage::Patch {
                view,
                base,
                version,
                patch,
            } => Msg::Patch {
                view,
                base,
                version,
                patch,
            },
            StoreMessage::OfferWhole {
                view,
                term,
                mut doc,
                beyond,
            } => {
                doc.status.set_beyond_v4(beyond);
                Msg::Offer { view, term, doc }
            }
            StoreMessage::ReplicateWhole {
                view,
                mut doc,
                beyond,
            } => {
                doc.status.set_beyond_v4(beyond);
                Msg::Replicate { view, doc }
            }
        }
    }

    /// This message in the form a peer speaking `version` reads: version
    /// 4 gets `Offer` and `Replicate` without what its form of the status
    /// leaves out. Release 0.1.0 knows no tickets (and a view with it
    /// member refuses `[[ticket]]` and `paceline ticket`), so it loses
    /// nothing it uses; a newer node synced by 0.1.0 gets no tickets.
    pub fn for_version(self, version: u8) -> Self {
        match self {
            StoreMessage::OfferWhole {
                view, term, doc, ..
            } if version < 5 => StoreMessage::Offer { view, term, doc },
            StoreMessage::ReplicateWhole { view, doc, .. } if version < 5 => {
                StoreMessage::Replicate { view, doc }
            }
            other => other,
        }
    }

    /// The oldest protocol version whose members read this message.
    pub fn version_needed(&self) -> u8 {
        match self {
            StoreMessage::Solicit { .. }
            | StoreMessage::Offer { .. }
            | StoreMessage::Promised { .. }
            | StoreMessage::Replicate { .. }
            | StoreMessage::Ack { .. } => 4,
            StoreMessage::Forward { patch, .. } | StoreMessage::Patch { patch, .. } => {
                patch.version_needed()
            }
            StoreMessage::OfferWhole { .. } | StoreMessage::ReplicateWhole { .. } => 5,
        }
    }

    /// Whether it carries the whole document (a sync, not a patch).
    pub fn is_whole_document(&self) -> bool {
        matches!(
            self,
            StoreMessage::Offer { .. }
                | StoreMessage::Replicate { .. }
                | StoreMessage::OfferWhole { .. }
                | StoreMessage::ReplicateWhole { .. }
        )
    }
}

/// What travels over the reliable channel (one reassembled payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClusterMessage {
    Store(StoreMessage),
    /// DC -> node: run this.
    ActionRequest(ActionRequest),
    /// node -> DC: the result of a request or a change of a recurring monitor.
    ActionResult(ActionResult),
    /// node -> DC: a change of the status only the node knows (attributes).
    StatusPatch(StatusPatch),
    /// DC -> node: stop a recurring monitor.
    CancelRecurring {
        instance: String,
        interval_ms: u64,
    },
    /// member -> DC: a config change a client asked this member for.
    ConfigRequest {
        request: u64,
        based_on: Version,
        config: String,
    },
    /// DC -> member: its outcome (`Err` carries the reason for the client).
    ConfigReply {
        request: u64,
        result: Result<Version, String>,
    },
    /// DC -> member: what has your executor done? (Pacemaker's join.)
    ReportRequest,
    /// member -> DC: the answer; the member follows that DC from now on.
    Report(NodeReport),
    /// member -> DC: a status change its client waits for (`resource
    /// cleanup`), answered by a `ConfigReply` once committed. (Last, so
    /// the variants before keep their numbers on the wire.)
    StatusRequest {
        request: u64,
        patch: StatusPatch,
    },
    /// member -> DC: an operator confirmed `target` off on this member
    /// (`paceline fence confirm`), `by` whom; answered by a `ConfigReply`
    /// (`Err`: refused, with why). Protocol version 5.
    FenceConfirm {
        request: u64,
        target: String,
        by: String,
    },
    /// member -> DC: has your controller settled (nothing in flight,
    /// nothing left to do)? A `ConfigReply`: `Ok` yes, `Err` not yet
    /// (`--wait` run on a member). Protocol version 5.
    SettledQuery {
        request: u64,
    },
}

/// How much of the channel's largest message (`wire::ChannelLimits`, 4 MiB)
/// a configuration change may fill with the document it makes: the store
/// sends the whole document (configuration and status) in one message to
/// sync a peer, so the rest, 1 MiB, is left for the status to grow
/// (operation records, attributes, about 10,000 more records) before the
/// document no longer fits. The configuration text alone is capped at
/// 1 MiB (`config::MAX_CONFIG_BYTES`); this is the cap on both together.
pub const DOCUMENT_SHARE_OF_MESSAGE: (usize, usize) = (3, 4);

/// The most a configuration change may make the document (see
/// `DOCUMENT_SHARE_OF_MESSAGE`).
pub fn max_document_bytes() -> usize {
    let (num, den) = DOCUMENT_SHARE_OF_MESSAGE;
    crate::wire::ChannelLimits::default().max_message_bytes / den * num
}

/// The size of the message that carries the document of `config` and
/// `status` to a peer (`StoreMessage::Replicate`), near enough: the few
/// bytes of view and version aside.
pub fn document_message_bytes(config: &str, status: &ClusterStatus) -> usize {
    let status_bytes = postcard::to_allocvec(status).map_or(usize::MAX, |b| b.len());
    status_bytes.saturating_add(config.len()).saturating_add(64)
}

/// Refuses a configuration whose document, with the status as it is, would
/// leave less room than `DOCUMENT_SHARE_OF_MESSAGE` says for the status to
/// grow: over the channel's message limit it could be applied here and
/// never replicated (a peer could not sync, later changes would fail).
pub fn check_document_size(config: &str, status: &ClusterStatus) -> Result<(), String> {
    let bytes = document_message_bytes(config, status);
    let max = max_document_bytes();
    if bytes <= max {
        return Ok(());
    }
    let limit = crate::wire::ChannelLimits::default().max_message_bytes;
    Err(format!(
        "refused: the cluster document would be {bytes} bytes (this configuration {} bytes, the status {} bytes), over {max} bytes: the whole document travels to a peer in one channel message of at most {limit} bytes, and the rest is kept for the status to grow. Shrink the configuration, or the status (`paceline resource cleanup` forgets old failures)",
        config.len(),
        bytes.saturating_sub(config.len()).saturating_sub(64)
    ))
}

impl ClusterMessage {
    /// The oldest protocol version whose members read this message. Every
    /// message here is release 0.1.0's (version 4), in the same form: the
    /// types that travel are frozen for the versions a build speaks (a
    /// test holds release 0.1.0's bytes, `tests/previous_release.rs`). A
    /// new message is a new variant appended last, needing the version
    /// that introduced it, sent only when the view speaks it
    /// (`Membership::protocol_version`); a new field travels in a new
    /// variant the same way. See "Protocol versions" in ARCHITECTURE.md.
    pub fn version_needed(&self) -> u8 {
        match self {
            ClusterMessage::Store(m) => m.version_needed(),
            ClusterMessage::StatusPatch(patch) | ClusterMessage::StatusRequest { patch, .. } => {
                patch.version_needed()
            }
            ClusterMessage::ActionRequest(_)
            | ClusterMessage::ActionResult(_)
            | ClusterMessage::CancelRecurring { .. }
            | ClusterMessage::ConfigRequest { .. }
            | ClusterMessage::ConfigReply { .. }
            | ClusterMessage::ReportRequest
            | ClusterMessage::Report(_) => 4,
            ClusterMessage::FenceConfirm { .. } | ClusterMessage::SettledQuery { .. } => 5,
        }
    }

    /// This message in the form a peer speaking `version` reads (see
    /// `StoreMessage::for_version`).
    pub fn for_version(self, version: u8) -> Self {
        match self {
            ClusterMessage::Store(m) => ClusterMessage::Store(m.for_version(version)),
            other => other,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serializing our own types into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        postcard::from_bytes(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NodeState;

    #[test]
    fn cluster_messages_roundtrip_through_postcard() {
        let mut status = ClusterStatus::default();
        let mut node = NodeState {
            uname: "node1".into(),
            in_ccm: Some(true),
            ..NodeState::default()
        };
        node.transient_attributes
            .insert("master-db".into(), "1000".into());
        status.nodes.insert("node1".into(), node);
        let event = crate::model::FenceEvent {
            id: 5_000,
            target: "node2".into(),
            action: "reboot".into(),
            ok: false,
            devices: Vec::new(),
            detail: "ipmi: timed out".into(),
            delegate: "node1".into(),
            origin: "node1".into(),
            client: "controller".into(),
            completed: 5,
            elapsed_ms: Some(3_000),
            attempts: 2,
            first_completed: 1,
        };
        status.fencing_history.push(event.clone());
        let mut doc = ClusterDocument::new("[cluster]\nname = \"c\"\n".into(), status);
        doc.version.epoch = 3;
        let messages = [
            ClusterMessage::Store(StoreMessage::Offer {
                view: 4,
                term: 2,
                doc,
            }),
            ClusterMessage::ConfigReply {
                request: 9,
                result: Err("conflict".into()),
            },
            ClusterMessage::StatusPatch(StatusPatch::Attribute {
                node: "node2".into(),
                name: "master-db".into(),
                value: None,
            }),
            ClusterMessage::StatusPatch(StatusPatch::FenceEvent(Box::new(event))),
        ];
        for m in messages {
            assert_eq!(ClusterMessage::decode(&m.encode()), Some(m));
        }
        assert_eq!(ClusterMessage::decode(&[0xff, 0xff, 0xff]), None);
    }

    /// Permanent node attributes are outside version 4's binary status:
    /// a peer of version 5 gets a synced document with them
    /// (`ReplicateWhole`), one of release 0.1.0 the old `Replicate`, and
    /// a patch of one is never sent to a view speaking 4.
    #[test]
    fn a_synced_document_keeps_permanent_attributes_from_version_5() {
        let mut status = ClusterStatus::default();
        let data = StatusPatch::PermanentAttribute {
            node: "node2".into(),
            name: "db-data-status".into(),
            value: Some("STREAMING|SYNC".into()),
        };
        crate::controller::apply_patch(&mut status, &data);
        let doc = ClusterDocument::new("[cluster]\nname = \"c\"\n".into(), status.clone());
        let replicate = ClusterMessage::Store(StoreMessage::from_store(
            crate::store::machine::Msg::Replicate { view: 3, doc },
        ));
        let synced = |version: u8| {
            let m = replicate.clone().for_version(version);
            assert!(m.version_needed() <= version);
            match ClusterMessage::decode(&m.encode()) {
                Some(ClusterMessage::Store(s)) => match s.into_store() {
                    crate::store::machine::Msg::Replicate { doc, .. } => doc.status,
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(synced(5), status);
        assert!(synced(4).permanent_attributes.is_empty(), "v4's form");
        let patch = ClusterMessage::Store(StoreMessage::Patch {
            view: 3,
            base: Version::default(),
            version: Version::default(),
            patch: data.clone(),
        });
        assert_eq!(patch.version_needed(), 5);
        assert_eq!(ClusterMessage::StatusPatch(data).version_needed(), 5);
    }
}
