//! The peers harness itself: each emulator starts, reports its state, stops.

mod support;

#[test]
fn redfish_emulator_starts_and_reports_power() {
    let peer = support::redfish(&["--power-delay", "0"]);
    assert!(peer.get("BASE_URL").starts_with("http://127.0.0.1:"));
    assert!(peer.state(&[]).contains("On"), "{}", peer.state(&[]));
}

#[test]
fn ipmi_simulator_starts_and_reports_power() {
    let peer = support::ipmi(&[]);
    assert_eq!(peer.state(&["--file"]), "on");
}
