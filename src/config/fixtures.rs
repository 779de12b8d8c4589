//! Cluster files the unit tests of several modules share (test builds only).

/// Two nodes, `node1` (id 1) and `node2` (id 2); with `fencing`, stonith
/// enabled, dc-deadtime 0 and a Redfish device per node (`bmc1`, `bmc2`,
/// never reached by unit tests). `extra` goes after the properties (e.g.
/// `[rsc_defaults]`), `resources` last.
pub(crate) fn two_nodes(fencing: bool, extra: &str, resources: &str) -> String {
    let mut text = String::from(
        "[cluster]\nname = \"t\"\n\n[[node]]\nname = \"node1\"\nid = 1\n\n[[node]]\nname = \"node2\"\nid = 2\n\n",
    );
    if fencing {
        text.push_str("[properties]\nstonith-enabled = true\ndc-deadtime = \"0s\"\n\n");
        text.push_str(extra);
        text.push_str("\n[fencing]\nenabled = true\n");
        for i in 1..=2 {
            text.push_str(&format!(
                "\n[[fencing.device]]\nid = \"bmc{i}\"\ntype = \"redfish\"\nurl = \"https://198.18.2.{i}\"\nusername = \"admin\"\npassword_file = \"/nonexistent\"\n"
            ));
        }
        for i in 1..=2 {
            text.push_str(&format!(
                "\n[[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"bmc{i}\"]\n"
            ));
        }
    } else {
        text.push_str("[properties]\nstonith-enabled = false\n\n");
        text.push_str(extra);
        text.push_str("\n[fencing]\nenabled = false\n");
    }
    text.push('\n');
    text.push_str(resources);
    text
}
