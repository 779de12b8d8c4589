//! Three etcd members (Debian's etcd-server) in the namespaces e11, e12 and
//! e13 of a namespace lab, on 198.18.0.11-13: what the witness's and the
//! site tickets' namespace tests share.

use std::process::{Child, Command, Stdio};

use crate::netns::Cluster;

pub const ETCD: &str = "/usr/bin/etcd";
pub const MEMBERS: [u8; 3] = [11, 12, 13];

/// The etcd members, killed (by their own pids) before the namespaces go.
pub struct Etcd {
    children: Vec<Child>,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Etcd {
    /// Starts the members; each one's log is DIR/etcdM.log, appended to, so a
    /// restart keeps the first run's lines.
    pub fn start(c: &Cluster) -> Etcd {
        let initial: Vec<String> = MEMBERS
            .iter()
            .map(|m| format!("e{m}=http://198.18.0.{m}:2380"))
            .collect();
        let mut children = Vec::new();
        for m in MEMBERS {
            let ip = format!("198.18.0.{m}");
            let log = std::fs::File::options()
                .create(true)
                .append(true)
                .open(c.dir.join(format!("etcd{m}.log")))
                .unwrap();
            let child = Command::new("ip")
                .args(["netns", "exec", &c.ns(&format!("e{m}")), ETCD])
                .args(["--name", &format!("e{m}")])
                .arg("--data-dir")
                .arg(c.dir.join(format!("etcd{m}")))
                .args(["--listen-peer-urls", &format!("http://{ip}:2380")])
                .args([
                    "--initial-advertise-peer-urls",
                    &format!("http://{ip}:2380"),
                ])
                .args(["--listen-client-urls", &format!("http://{ip}:2379")])
                .args(["--advertise-client-urls", &format!("http://{ip}:2379")])
                .args(["--initial-cluster", &initial.join(",")])
                .args(["--initial-cluster-state", "new"])
                .args(["--heartbeat-interval", "100", "--election-timeout", "1000"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            children.push(child);
        }
        Etcd { children }
    }

    pub fn stop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}
