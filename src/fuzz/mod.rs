//! Fuzz targets: one harness per parser that reads outside input, shared by
//! the nightly cargo-fuzz binaries (`fuzz/fuzz_targets/<name>.rs`) and the
//! stable runner that `cargo test --test fuzz` runs in CI (`tests/fuzz.rs`).
//!
//! A harness takes any bytes and must return without panicking, whatever
//! they are; what it checks beyond that (a round trip, a bound) it asserts.
//! Text parsers get the bytes as UTF-8 with invalid sequences replaced (what
//! they would get from a file after `read_to_string` accepted it). Seeds are
//! the files of `fuzz/seeds/<name>/` plus [`Target::generated`], made by
//! the code itself (sealed datagrams, channel frames) so they follow the
//! protocol as it changes.

mod text;
mod wire;

pub use paceline_fencing::fuzz::{ipmi_packet, redfish_response};
pub use text::{agent_metadata, api_request, cib_xml, config_toml, state_files, status_file};
pub use wire::{channel_frames, cluster_message, wire_decode};

/// One fuzz target and what its mutator should know of its grammar.
pub struct Target {
    pub name: &'static str,
    /// The input it stands for, for reports.
    pub reads: &'static str,
    pub run: fn(&[u8]),
    /// Words of its grammar worth inserting.
    pub dictionary: &'static [&'static str],
    /// Opening and closing tokens whose repetition nests deeply.
    pub nesting: &'static [(&'static str, &'static str)],
    /// Longest input worth trying (the real bound where there is one).
    pub max_len: usize,
    /// Seeds made by the code beside the seed files.
    pub generated: fn() -> Vec<Vec<u8>>,
}

fn none() -> Vec<Vec<u8>> {
    Vec::new()
}

const TOML_WORDS: &[&str] = &[
    "\n[cluster]\nname = \"c\"\n",
    "\n[[node]]\nname = \"n3\"\nid = 3\nlinks = [\"198.18.0.3\"]\n",
    "\n[[primitive]]\nid = \"p\"\nagent = \"ocf:heartbeat:Dummy\"\n",
    "\n[[group]]\n",
    "\n[[clone]]\n",
    "\n[[location]]\n",
    "\n[[colocation]]\n",
    "\n[[order]]\n",
    "\n[properties]\n",
    "\n[fencing]\n",
    "\n[[fencing.device]]\n",
    "\n[[fencing.level]]\n",
    "\n[membership]\n",
    "\n[quorum]\n",
    "\n[[primitive.op]]\nname = \"monitor\"\ninterval = \"10s\"\n",
    "score = \"INFINITY\"",
    "score = \"-INFINITY\"",
    "interval = \"0\"",
    "timeout = \"20s\"",
    "failover_budget = \"1ms\"",
    "node-action-limit = ",
    "clone_max = ",
    "priority = ",
    "rule = \"#uname eq n1\"",
    "role = \"Promoted\"",
    "\"\"\"",
    "'''",
    "\\u0000",
    "\r\n",
    "=",
    "#",
    "\"",
];

const XML_WORDS: &[&str] = &[
    "<primitive id=\"p\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\"/>",
    "<clone id=\"c\"><primitive id=\"q\" class=\"ocf\" provider=\"pacemaker\" type=\"Stateful\"/></clone>",
    "<group id=\"g\"/>",
    "<rsc_location id=\"l\" rsc=\"p\" node=\"n1\" score=\"INFINITY\"/>",
    "<rsc_colocation id=\"c\" rsc=\"p\" with-rsc=\"q\" score=\"-INFINITY\"/>",
    "<rsc_order id=\"o\" first=\"p\" then=\"q\"/>",
    "<resource_set id=\"s\"><resource_ref id=\"p\"/></resource_set>",
    "<rule id=\"r\" score=\"100\"><expression id=\"e\" attribute=\"#uname\" operation=\"eq\" value=\"n1\"/></rule>",
    "<date_expression id=\"d\" operation=\"in_range\" start=\"2020-01-01\"/>",
    "<nvpair id=\"v\" name=\"target-role\" value=\"Stopped\"/>",
    "<meta_attributes id=\"m\" id-ref=\"m\"/>",
    "<op id=\"op\" name=\"monitor\" interval=\"10s\"/>",
    "<node_state id=\"1\" uname=\"n1\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\">",
    "<lrm_rsc_op id=\"p_last_0\" operation=\"start\" call-id=\"-1\" rc-code=\"0\" op-status=\"0\" interval=\"0\" last-rc-change=\"0\"/>",
    " id-ref=\"",
    " score=\"",
    "&amp;",
    "&#x0;",
    "<![CDATA[",
    "<!--",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>",
];

const JSON_WORDS: &[&str] = &[
    "null",
    "true",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "{}",
    "[]",
    "1e400",
    "-0",
    ",",
    ":",
    "\"request\":\"config_load\"",
    "\"request\":\"dispatch\"",
    "\"PowerState\":\"Off\"",
    "\"Members\":[{\"@odata.id\":\"/redfish/v1/Systems/1\"}]",
    "\"error\":{\"@Message.ExtendedInfo\":[{\"Message\":\"x\"}]}",
    "\"ResetType@Redfish.AllowableValues\":[\"ForceOff\"]",
    "\"epoch\":",
    "\"num_updates\":",
    "\"call_id\":",
    "\"next_call_id\":",
];

const TOML_NESTING: &[(&str, &str)] = &[("[", "]"), ("{a=", "}"), ("a=[", "]")];
const XML_NESTING: &[(&str, &str)] = &[
    ("<a>", "</a>"),
    ("<rule id=\"r\" boolean-op=\"and\">", "</rule>"),
    ("<group id=\"g\">", "</group>"),
];
const JSON_NESTING: &[(&str, &str)] = &[("[", "]"), ("{\"a\":", "}")];

/// Text inputs: large enough for a 65,536-column line and deep nesting,
/// small enough to parse quickly in a debug build.
const TEXT_MAX: usize = 256 << 10;

/// Every target, in the order the runner reports them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "wire_decode",
        reads: "a cluster datagram (UDP, any sender)",
        run: wire_decode,
        dictionary: &["PL"],
        nesting: &[],
        // Datagrams carry at most a 1200-byte fragment; the header checks
        // do not depend on the length.
        max_len: 4096,
        generated: wire::datagram_seeds,
    },
    Target {
        name: "channel_frames",
        reads: "a sequence of reliable-channel frames from several peers",
        run: channel_frames,
        dictionary: &[],
        nesting: &[],
        max_len: 16_384,
        generated: wire::frame_seeds,
    },
    Target {
        name: "cluster_message",
        reads: "a reassembled channel payload (ClusterMessage)",
        run: cluster_message,
        dictionary: &[],
        nesting: &[],
        max_len: 16_384,
        generated: wire::message_seeds,
    },
    Target {
        name: "api_request",
        reads: "a request line on the local API socket (and the daemon's answer)",
        run: api_request,
        dictionary: JSON_WORDS,
        nesting: JSON_NESTING,
        max_len: TEXT_MAX,
        generated: text::api_seeds,
    },
    Target {
        name: "config_toml",
        reads: "the cluster configuration TOML (every reader of it)",
        run: config_toml,
        dictionary: TOML_WORDS,
        nesting: TOML_NESTING,
        max_len: TEXT_MAX,
        generated: none,
    },
    Target {
        name: "cib_xml",
        reads: "Pacemaker CIB XML (`config import-cib`, `simulate --cib`)",
        run: cib_xml,
        dictionary: XML_WORDS,
        nesting: XML_NESTING,
        max_len: TEXT_MAX,
        generated: none,
    },
    Target {
        name: "status_file",
        reads: "the status file of `simulate --status` (TOML or JSON)",
        run: status_file,
        dictionary: TOML_WORDS,
        nesting: TOML_NESTING,
        max_len: TEXT_MAX,
        generated: text::status_seeds,
    },
    Target {
        name: "state_files",
        reads: "the state directory's JSON (cluster.json, op-history.json, attributes.json, fencing history)",
        run: state_files,
        dictionary: JSON_WORDS,
        nesting: JSON_NESTING,
        max_len: TEXT_MAX,
        generated: text::state_seeds,
    },
    Target {
        name: "agent_metadata",
        reads: "OCF resource agent and fence agent meta-data XML",
        run: agent_metadata,
        dictionary: &[
            "<parameter name=\"p\" unique=\"1\" required=\"1\">",
            "<content type=\"string\" default=\"x\"/>",
            "<action name=\"monitor\" timeout=\"20s\" interval=\"10s\" role=\"Promoted\"/>",
            "<shortdesc lang=\"en\">",
            "</shortdesc>",
            "<longdesc>",
            "</longdesc>",
            "</parameter>",
            "obsoletes=\"login\"",
            "deprecated=\"1\"",
            "&lt;",
            "<![CDATA[",
        ],
        nesting: XML_NESTING,
        max_len: TEXT_MAX,
        generated: none,
    },
    Target {
        name: "redfish_response",
        reads: "a Redfish BMC's JSON answer",
        run: redfish_response,
        dictionary: JSON_WORDS,
        nesting: JSON_NESTING,
        max_len: TEXT_MAX,
        generated: none,
    },
    Target {
        name: "ipmi_packet",
        reads: "an IPMI-over-LAN (RMCP/RMCP+) answer from a BMC",
        run: ipmi_packet,
        dictionary: &[],
        nesting: &[],
        max_len: 2048,
        generated: paceline_fencing::fuzz::ipmi_seeds,
    },
];

/// The target of that name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
