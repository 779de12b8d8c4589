//! What release 0.1.0 (the previous release, `RELEASES`) wrote and sent
//! still reads here, and what this build sends to a view that speaks
//! version 4 is what 0.1.0 reads: its bytes are kept in
//! `tests/releases/0.1.0/` (made by its own source, see
//! `tests/releases/generate.rs`). A change to a type that travels between
//! nodes fails here: the types of a version are frozen, and a new field or
//! message is added as "Protocol versions" in ARCHITECTURE.md says. The
//! mixed cluster of real daemons is `tests/netns_upgrade.rs`.

#[path = "releases/samples.rs"]
mod samples;

use std::path::{Path, PathBuf};

use paceline::node::protocol::ClusterMessage;
use paceline::wire::{Decoder, Message, VersionRange};

fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/releases/0.1.0")
}

fn fixture(file: &str) -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(release_dir().join(file)).unwrap();
    samples::parse_hex_lines(&text)
}

#[test]
fn release_0_1_cluster_messages_decode_here_and_this_build_sends_their_bytes() {
    let dir = release_dir();
    let expected = samples::cluster_messages(&dir);
    let bytes = fixture("cluster-messages.txt");
    assert_eq!(
        bytes.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        expected.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "one fixture per sample"
    );
    for ((name, old), (_, message)) in bytes.iter().zip(&expected) {
        assert_eq!(
            ClusterMessage::decode(old).as_ref(),
            Some(message),
            "{name}: release 0.1.0's bytes decode to another value here"
        );
        assert!(
            message.encode() == *old,
            "{name}: this build encodes it otherwise than release 0.1.0, which could not read it; \
             a type that travels changed (add the new form as a new variant needing a new \
             protocol version, see ARCHITECTURE.md, Protocol versions)"
        );
        assert_eq!(message.version_needed(), 4, "{name}: 0.1.0's kinds need 4");
    }
}

/// The whole document as the store sends it (`Offer`, `Replicate`) goes
/// to a peer speaking 4 as release 0.1.0's bytes, tickets or not; a
/// peer speaking 5 gets the tickets beside it (`OfferWhole`).
#[test]
fn the_whole_document_goes_to_a_view_speaking_4_as_release_0_1_reads_it() {
    use paceline::node::protocol::StoreMessage;
    use paceline::store::machine::Msg;
    let dir = release_dir();
    let bytes = fixture("cluster-messages.txt");
    let old = |name: &str| bytes.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let mut doc = samples::document(&dir);
    doc.status
        .tickets
        .insert("east".into(), paceline::model::TicketState::default());
    let sent = [
        (
            "store-offer",
            Msg::Offer {
                view: 3,
                term: 2,
                doc: doc.clone(),
            },
        ),
        ("store-replicate", Msg::Replicate { view: 3, doc }),
    ];
    for (name, msg) in sent {
        let whole = ClusterMessage::Store(StoreMessage::from_store(msg));
        assert_eq!(whole.version_needed(), 5, "{name}");
        let Some(ClusterMessage::Store(back)) = ClusterMessage::decode(&whole.encode()) else {
            panic!("{name}: undecodable");
        };
        let (Msg::Offer { doc, .. } | Msg::Replicate { doc, .. }) = back.into_store() else {
            panic!("{name}: another message");
        };
        assert!(doc.status.tickets.contains_key("east"), "{name}: at 5");
        let to_0_1 = whole.for_version(4);
        assert_eq!(to_0_1.version_needed(), 4, "{name}");
        assert!(to_0_1.encode() == old(name), "{name}: not 0.1.0's bytes");
    }
}

#[test]
fn release_0_1_datagrams_open_here_and_its_heartbeat_speaks_4() {
    let mut decoder = Decoder::new(samples::key(), 1);
    let mut encoder = samples::encoder();
    for ((name, old), (_, message)) in fixture("datagrams.txt").iter().zip(samples::datagrams()) {
        let opened = decoder
            .open(old)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(opened.message, message, "{name}");
        assert!(
            opened.header.version <= 4,
            "{name}: 0.1.0 seals with 4 at most"
        );
        if let Message::Heartbeat(hb) = &opened.message {
            assert_eq!(hb.speaks, VersionRange::RELEASE_0_1);
        }
        // This build seals them with the same version byte, in the same
        // bytes save a heartbeat's tail (which 0.1.0 ignores).
        let ours = encoder.seal(&message);
        assert_eq!(ours[2], old[2], "{name}: version byte");
        if !matches!(message, Message::Heartbeat(_)) {
            assert!(ours == *old, "{name}: sealed otherwise than by 0.1.0");
        }
    }
}

#[test]
fn release_0_1_state_directory_loads() {
    let dir = std::env::temp_dir().join(format!("plrel{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(release_dir().join("state")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let expected = samples::document(&release_dir());
    let cluster = paceline::config::load_node_str(&expected.config, "cluster.toml").unwrap();
    let runtime = cluster.runtime.unwrap();
    let own = paceline::node::NodeSettings::from_runtime(&runtime, &runtime.nodes[0]);
    let (store, note) =
        paceline::daemon::cluster::ClusterStore::open(&dir, own, &expected.config).unwrap();
    let note = note.unwrap_or_default();
    assert!(!note.contains("differs"), "{note}");
    // The document file completed by the status file: version and status.
    assert_eq!(store.doc(), &expected);
    assert!(
        store.doc().status.nodes["node1"].resources[0].ops.len() >= 2,
        "the operation history came along"
    );
    let history = paceline::executor::OpHistory::open(&dir.join("op-history.json")).unwrap();
    assert!(format!("{history:?}").contains("dummy"), "{history:?}");
    let incarnation = std::fs::read_to_string(dir.join("incarnation.json")).unwrap();
    assert!(incarnation.trim().parse::<u64>().is_ok(), "{incarnation}");
    let _ = std::fs::remove_dir_all(&dir);
}
