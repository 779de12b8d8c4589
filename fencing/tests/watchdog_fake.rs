//! Watchdog device I/O against the FUSE fake of /dev/watchdog from
//! ../shared/peers/watchdog (no real watchdog driver on this machine; see
//! ARCHITECTURE.md for what that does and does not prove).

mod support;

use std::time::{Duration, Instant};

use paceline_fencing::watchdog::{FeedOutcome, Feeder, Watchdog};
use paceline_fencing::watchdog_policy::NodeHealth;

fn status(peer: &support::Peer) -> serde_json::Value {
    let text = std::fs::read_to_string(peer.get("STATUS")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

fn events(peer: &support::Peer) -> String {
    std::fs::read_to_string(peer.get("EVENTS_LOG")).unwrap_or_default()
}

fn name(tag: &str) -> String {
    format!("plwd{}{tag}", std::process::id())
}

const HEALTHY: NodeHealth = NodeHealth {
    healthy: true,
    quorate: true,
    sees_peer: true,
    never_quorate: false,
};
const ALONE: NodeHealth = NodeHealth {
    healthy: true,
    quorate: false,
    sees_peer: false,
    never_quorate: false,
};

#[test]
fn fed_while_quorate_fires_when_starved() {
    let peer = support::watchdog(&name("a"), &["--action", "log"]);
    let wd = Watchdog::arm(peer.get("DEVICE").as_ref(), Duration::from_secs(1)).unwrap();
    assert_eq!(wd.timeout(), Duration::from_secs(1));
    let mut feeder = Feeder::new(wd);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            feeder.tick(HEALTHY, Instant::now()).unwrap(),
            FeedOutcome::Fed
        );
        std::thread::sleep(feeder.tick_interval());
    }
    let log = events(&peer);
    assert!(log.contains("WDIOC_SETTIMEOUT 1"), "{log}");
    assert!(!log.contains("FIRED"), "fired while fed: {log}");
    assert!(
        status(&peer)["pings"].as_u64().unwrap_or(0) >= 4,
        "{}",
        status(&peer)
    );

    // Quorum and peer lost: the policy stops feeding and the watchdog fires.
    let starved_at = Instant::now();
    while starved_at.elapsed() < Duration::from_millis(1600) {
        assert_eq!(
            feeder.tick(ALONE, Instant::now()).unwrap(),
            FeedOutcome::Starved
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = events(&peer);
    assert!(log.contains("FIRED"), "{log}");
    assert!(feeder.starving_since().is_some());
}

#[test]
fn magic_close_disarms() {
    let peer = support::watchdog(&name("b"), &["--action", "log"]);
    let wd = Watchdog::arm(peer.get("DEVICE").as_ref(), Duration::from_secs(1)).unwrap();
    wd.disarm().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let log = events(&peer);
    assert!(log.contains("disarmed"), "{log}");
    assert!(!log.contains("FIRED"), "{log}");
}

#[test]
fn a_crashed_opener_is_reset() {
    // Dropping the handle without the magic close (as a crash would) leaves
    // the watchdog armed: it must fire.
    let peer = support::watchdog(&name("c"), &["--action", "log"]);
    let wd = Watchdog::arm(peer.get("DEVICE").as_ref(), Duration::from_secs(1)).unwrap();
    drop(wd);
    std::thread::sleep(Duration::from_millis(1600));
    let log = events(&peer);
    assert!(log.contains("FIRED"), "{log}");
}

#[test]
fn missing_device_names_the_fix() {
    let err = Watchdog::arm("/nonexistent/watchdog".as_ref(), Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("driver"), "{err}");
    let err = Watchdog::arm("/dev/null".as_ref(), Duration::from_secs(0)).unwrap_err();
    assert!(err.to_string().contains("between 1 and 3600"), "{err}");
}
