//! The cluster messages and datagrams whose bytes release 0.1.0 produced
//! (`tests/releases/0.1.0/*.txt`), built the same way by this build and by
//! that release's source, so that `tests/previous_release.rs` compares
//! bytes: what 0.1.0 sent must decode here to the same value, and what
//! this build sends at version 4 must be the bytes 0.1.0 reads. The status
//! inside comes from 0.1.0's own state directory (`0.1.0/state`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use paceline::controller::{ActionRequest, ActionResult, FenceOutcome, NodeReport, StatusPatch};
use paceline::daemon::cluster::StatusFile;
use paceline::model::FenceEvent;
use paceline::node::protocol::{ClusterDocument, ClusterMessage, StoreMessage};
use paceline::wire::{ClusterKey, Echo, Encoder, Frame, Heartbeat, Message, ViewSummary};

fn read<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> T {
    let text = std::fs::read_to_string(dir.join("state").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Release 0.1.0's document, completed by its status file.
pub fn document(dir: &Path) -> ClusterDocument {
    let mut doc: ClusterDocument = read(dir, "cluster.json");
    let status: StatusFile = read(dir, "cluster-status.json");
    doc.version = status.version;
    doc.status = status.status;
    doc
}

fn result() -> ActionResult {
    ActionResult {
        id: 41,
        node: "node2".into(),
        resource: "db".into(),
        instance: "db:1".into(),
        operation: "monitor".into(),
        interval_ms: 10_000,
        rc: 8,
        op_status: 0,
        output: "promoted".into(),
        at: 1_796_504_633,
        exec_ms: 12,
    }
}

fn request() -> ActionRequest {
    ActionRequest {
        id: 42,
        node: "node1".into(),
        resource: "vip".into(),
        instance: "vip".into(),
        operation: "start".into(),
        interval_ms: 0,
        timeout_ms: 20_000,
        meta: BTreeMap::from([("notify_type".into(), "pre".into())]),
    }
}

fn fence_event() -> FenceEvent {
    FenceEvent {
        id: 5_000,
        target: "node2".into(),
        action: "reboot".into(),
        ok: false,
        devices: vec!["ipmi-node2".into()],
        detail: "ipmi: timed out".into(),
        delegate: "node1".into(),
        origin: "node1".into(),
        client: "controller".into(),
        completed: 5,
        elapsed_ms: Some(3_000),
        attempts: 2,
        first_completed: 1,
    }
}

/// One message of each kind, named.
pub fn cluster_messages(dir: &Path) -> Vec<(&'static str, ClusterMessage)> {
    let doc = document(dir);
    let version = doc.version;
    let store = |m| ClusterMessage::Store(m);
    let patch = |p| ClusterMessage::StatusPatch(p);
    vec![
        (
            "store-solicit",
            store(StoreMessage::Solicit { view: 3, term: 2 }),
        ),
        (
            "store-offer",
            store(StoreMessage::Offer {
                view: 3,
                term: 2,
                doc: doc.clone(),
            }),
        ),
        (
            "store-promised",
            store(StoreMessage::Promised {
                view: 3,
                promised: 2,
            }),
        ),
        (
            "store-replicate",
            store(StoreMessage::Replicate { view: 3, doc }),
        ),
        ("store-ack", store(StoreMessage::Ack { view: 3, version })),
        (
            "store-forward",
            store(StoreMessage::Forward {
                view: 3,
                patch: StatusPatch::NodeJoined("node2".into()),
            }),
        ),
        (
            "store-patch",
            store(StoreMessage::Patch {
                view: 3,
                base: version,
                version,
                patch: StatusPatch::OpResult(result()),
            }),
        ),
        ("action-request", ClusterMessage::ActionRequest(request())),
        ("action-result", ClusterMessage::ActionResult(result())),
        (
            "patch-left",
            patch(StatusPatch::NodeLeftCleanly("node2".into())),
        ),
        (
            "patch-fenced",
            patch(StatusPatch::NodeFenced(FenceOutcome {
                target: "node2".into(),
                ok: true,
                detail: "off".into(),
                at: 7,
                action: "off".into(),
                devices: vec!["ipmi-node2".into()],
            })),
        ),
        (
            "patch-attribute",
            patch(StatusPatch::Attribute {
                node: "node2".into(),
                name: "master-db".into(),
                value: Some("1000".into()),
            }),
        ),
        (
            "patch-cleanup",
            patch(StatusPatch::Cleanup {
                resource: "db".into(),
                node: None,
            }),
        ),
        (
            "patch-fence-event",
            patch(StatusPatch::FenceEvent(Box::new(fence_event()))),
        ),
        (
            "patch-node-history",
            patch(StatusPatch::NodeHistory {
                node: "node2".into(),
                from_call_id: 3,
                results: vec![result()],
            }),
        ),
        (
            "cancel-recurring",
            ClusterMessage::CancelRecurring {
                instance: "db:1".into(),
                interval_ms: 10_000,
            },
        ),
        (
            "config-request",
            ClusterMessage::ConfigRequest {
                request: 9,
                based_on: version,
                config: "[cluster]\nname = \"c\"\n".into(),
            },
        ),
        (
            "config-reply",
            ClusterMessage::ConfigReply {
                request: 9,
                result: Err("conflict".into()),
            },
        ),
        ("report-request", ClusterMessage::ReportRequest),
        (
            "report",
            ClusterMessage::Report(NodeReport {
                node: "node2".into(),
                results: vec![result()],
                pending: vec![request()],
            }),
        ),
        (
            "status-request",
            ClusterMessage::StatusRequest {
                request: 10,
                patch: StatusPatch::Cleanup {
                    resource: "db".into(),
                    node: Some("node1".into()),
                },
            },
        ),
    ]
}

/// The key, sender and incarnation the sample datagrams are sealed with.
pub fn encoder() -> Encoder {
    let key = ClusterKey::derive(&[7u8; 32], "fixture").unwrap();
    Encoder::new(key, 2, 1_796_504_633_705_427)
}

pub fn key() -> ClusterKey {
    ClusterKey::derive(&[7u8; 32], "fixture").unwrap()
}

/// A heartbeat and a channel frame as release 0.1.0 seals them.
pub fn heartbeat() -> Heartbeat {
    serde_json::from_value(serde_json::json!({
        "link": 1,
        "stamp": 5_000,
        "heard": [Echo { node: 1, incarnation: 9, stamp: 4_800 }],
        "view": ViewSummary { id: 3, members: vec![1, 2] },
        "keys": [key().id()],
    }))
    .unwrap()
}

pub fn frame() -> Message {
    Message::Channel(Frame::Ack {
        to_incarnation: 9,
        through: 17,
        also: vec![19, 20],
    })
}

/// A fragment of the reliable channel carrying a cluster message.
pub fn data_frame() -> Message {
    let bytes = ClusterMessage::ReportRequest.encode();
    Message::Channel(Frame::Data {
        to_incarnation: 9,
        seq: 18,
        first_unacked: 17,
        index: 0,
        count: 1,
        bytes,
    })
}

/// The sample datagrams, named, sealed by `encoder` in this order.
pub fn datagrams() -> Vec<(&'static str, Message)> {
    vec![
        ("heartbeat", Message::Heartbeat(heartbeat())),
        ("leave", Message::Leave),
        ("channel-ack", frame()),
        ("channel-data", data_frame()),
    ]
}

/// `name hex` lines.
pub fn hex_lines(items: &[(&str, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (name, bytes) in items {
        out.push_str(name);
        out.push(' ');
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('\n');
    }
    out
}

/// Reads `hex_lines`' output.
pub fn parse_hex_lines(text: &str) -> Vec<(String, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name.to_string(), bytes)
        })
        .collect()
}
