//! Harnesses of what arrives on a cluster port: datagrams, the reliable
//! channel's frames, and the messages reassembled from them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::controller::{ActionRequest, StatusPatch};
use crate::model::ClusterStatus;
use crate::node::protocol::{ClusterDocument, ClusterMessage, StoreMessage};
use crate::store::Version;
use crate::wire::{
    Channel, ChannelLimits, ClusterKey, Decoder, Echo, Encoder, Frame, Header, Heartbeat, Message,
    PROTOCOL_VERSION, ViewSummary,
};

/// The key every seed is sealed with; an attacker without it only reaches
/// the header checks, so the harness also seals the input itself.
fn key() -> &'static ClusterKey {
    static KEY: OnceLock<ClusterKey> = OnceLock::new();
    KEY.get_or_init(|| match ClusterKey::derive(&[5u8; 32], "fuzz") {
        Ok(k) => k,
        Err(e) => panic!("a 32-byte authkey is long enough: {e}"),
    })
}

/// A datagram from anyone: the decoder drops and counts what is not an
/// authentic, fresh message of this cluster, and never panics. The input
/// sealed with the right key reaches payload decoding (postcard) as a
/// node holding the key would.
pub fn wire_decode(data: &[u8]) {
    let mut decoder = Decoder::new(key().clone(), 1);
    let _ = Header::parse(data);
    let _ = decoder.open(data);
    let _ = decoder.open(data);
    let mut encoder = Encoder::new(key().clone(), 2, 1);
    for version in [1, PROTOCOL_VERSION] {
        if let Ok(decoded) = decoder.open(&encoder.seal_bytes(data, version)) {
            assert!(decoded.message.version_needed() <= version);
        }
    }
}

/// Peers and incarnations a control byte picks from: a new incarnation of
/// a peer resets its channel state, u64::MAX probes the arithmetic.
const PEERS: [u16; 4] = [1, 2, 3, 65535];
const INCARNATIONS: [u64; 4] = [1, 2, u64::MAX, 0];
/// The harness channel's own incarnation.
const OWN_INCARNATION: u64 = 5;

/// A sequence of (control byte, postcard `Frame`) read into one node's
/// channel, with some messages of its own outstanding so that
/// acknowledgements have something to free. Control byte: bits 0-1 the
/// sender, 2-3 its incarnation, bit 4 a 250 ms tick first, bit 5 a message
/// sent to that peer first, bit 6 the frame's sequence numbers moved to
/// the top of the range (counted down from u64::MAX). Delivered payloads
/// are decoded as the daemon does.
pub fn channel_frames(data: &[u8]) {
    let mut channel = Channel::new(OWN_INCARNATION, ChannelLimits::default());
    let mut now_ms = 0u64;
    for peer in [1, 2] {
        let _ = channel.send(now_ms, peer, vec![7; 3000]);
    }
    let mut rest = data;
    while let Some((&ctrl, tail)) = rest.split_first() {
        let Ok((mut frame, tail)) = postcard::take_from_bytes::<Frame>(tail) else {
            break;
        };
        rest = tail;
        if ctrl & 0x40 != 0 {
            to_the_top(&mut frame);
        }
        let from = PEERS[usize::from(ctrl & 3)];
        let incarnation = INCARNATIONS[usize::from((ctrl >> 2) & 3)];
        if ctrl & 0x10 != 0 {
            now_ms = now_ms.saturating_add(250);
            let _ = channel.tick(now_ms);
        }
        if ctrl & 0x20 != 0 {
            let _ = channel.send(now_ms, from, vec![ctrl; 1500]);
        }
        let received = channel.receive(now_ms, from, incarnation, frame);
        for payload in received.delivered {
            let _ = ClusterMessage::decode(&payload);
        }
        let _ = channel.unacked(from);
    }
    let _ = channel.tick(now_ms.saturating_add(1000));
}

/// Moves a frame's sequence numbers near u64::MAX, keeping their order.
fn to_the_top(frame: &mut Frame) {
    let top = |n: &mut u64| *n = u64::MAX - *n % 64;
    match frame {
        Frame::Data {
            seq, first_unacked, ..
        } => {
            top(seq);
            top(first_unacked);
        }
        Frame::Ack { through, also, .. } => {
            top(through);
            also.iter_mut().for_each(top);
        }
    }
}

/// A reassembled payload: what decodes must encode back to itself.
pub fn cluster_message(data: &[u8]) {
    if let Some(message) = ClusterMessage::decode(data) {
        let again = message.encode();
        assert_eq!(ClusterMessage::decode(&again).as_ref(), Some(&message));
    }
    if let Ok(message) = postcard::from_bytes::<Message>(data) {
        let _ = message.version_needed();
    }
}

/// Channel payloads of every kind the daemon sends.
pub(super) fn messages() -> Vec<ClusterMessage> {
    let mut status = ClusterStatus::default();
    status.nodes.insert("n1".into(), Default::default());
    let doc = ClusterDocument::new("[cluster]\nname = \"c\"\n".into(), status);
    let mut meta = BTreeMap::new();
    meta.insert("notify_type".into(), "pre".into());
    vec![
        ClusterMessage::Store(StoreMessage::Offer {
            view: 4,
            term: 2,
            doc: doc.clone(),
        }),
        ClusterMessage::Store(StoreMessage::ReplicateWhole {
            view: 4,
            doc,
            beyond: crate::model::StatusBeyondV4 {
                tickets: BTreeMap::from([("east".into(), Default::default())]),
                permanent_attributes: BTreeMap::from([(
                    "n2".into(),
                    BTreeMap::from([("db-data-status".into(), "LATEST".into())]),
                )]),
            },
        }),
        ClusterMessage::ActionRequest(ActionRequest {
            id: 9,
            node: "n2".into(),
            resource: "db".into(),
            instance: "db:0".into(),
            operation: "start".into(),
            interval_ms: 0,
            timeout_ms: 20_000,
            meta,
        }),
        ClusterMessage::StatusPatch(StatusPatch::Attribute {
            node: "n2".into(),
            name: "master-db".into(),
            value: Some("1000".into()),
        }),
        ClusterMessage::CancelRecurring {
            instance: "db:0".into(),
            interval_ms: 10_000,
        },
        ClusterMessage::ConfigRequest {
            request: 1,
            based_on: Version::default(),
            config: "[cluster]\nname = \"c\"\n".into(),
        },
        ClusterMessage::ConfigReply {
            request: 1,
            result: Err("conflict".into()),
        },
        ClusterMessage::ReportRequest,
    ]
}

pub(super) fn message_seeds() -> Vec<Vec<u8>> {
    messages().iter().map(ClusterMessage::encode).collect()
}

/// What a peer's channel sends: every message, the large one in several
/// fragments, as (control byte, frame) records of [`channel_frames`].
fn sender_frames() -> Vec<Frame> {
    let mut sender = Channel::new(1, ChannelLimits::default());
    let mut frames = Vec::new();
    let mut payloads = message_seeds();
    payloads.push(vec![0xa5; 4000]);
    for payload in payloads {
        if let Ok(out) = sender.send(0, 99, payload) {
            frames.extend(out.into_iter().map(|(_, f)| f));
        }
    }
    frames.extend(sender.tick(1000).into_iter().map(|(_, f)| f));
    frames.push(Frame::Ack {
        to_incarnation: OWN_INCARNATION,
        through: 1,
        also: vec![2, 3],
    });
    frames
}

pub(super) fn frame_seeds() -> Vec<Vec<u8>> {
    let record = |ctrl: u8, frames: &[Frame]| {
        let mut out = Vec::new();
        for f in frames {
            out.push(ctrl);
            out.extend(postcard::to_allocvec(f).unwrap_or_default());
        }
        out
    };
    let frames = sender_frames();
    let mut reversed = frames.clone();
    reversed.reverse();
    vec![
        record(0, &frames),
        record(0x10, &reversed),
        record(0x21, &frames),
        record(0x40, &frames),
    ]
}

/// Sealed datagrams as node 2 sends them.
pub(super) fn datagram_seeds() -> Vec<Vec<u8>> {
    let mut encoder = Encoder::new(key().clone(), 2, 1);
    let heartbeat = Message::Heartbeat(Heartbeat {
        link: 0,
        stamp: 5,
        heard: vec![Echo {
            node: 1,
            incarnation: 9,
            stamp: 4,
        }],
        view: ViewSummary {
            id: 3,
            members: vec![1, 2],
        },
        keys: vec![7],
        speaks: crate::wire::VersionRange::SPOKEN,
    });
    let mut out = vec![encoder.seal(&heartbeat), encoder.seal(&Message::Leave)];
    for frame in sender_frames().into_iter().take(4) {
        out.push(encoder.seal(&Message::Channel(frame)));
    }
    out
}
