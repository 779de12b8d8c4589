//! Putting a fault on and taking it off again, with the lab's own means:
//! power, links, routes, nftables, tc, signals, the agent's fault files and
//! the power board's socket.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::super::{LabError, node_addr, run};
use super::fault::{AgentOp, Kind};
use super::stack::faults_dir;
use super::{Chaos, alive};

impl Chaos {
    /// Puts `kind` on, aimed at `node` (the node its target role names).
    pub(super) fn inject(&mut self, kind: &Kind, node: u8) -> Result<(), LabError> {
        let ns = self.cluster.lab.node_ns(node);
        match kind {
            Kind::PowerLoss(_) => self.power_loss(node)?,
            Kind::CleanRestart(_) => self.clean_stop(node),
            Kind::LinkCut { link, .. } => self.cluster.lab.set_link(node, *link, false)?,
            Kind::BothLinksCut(_) => {
                for link in 0..2 {
                    self.cluster.lab.set_link(node, link, false)?;
                }
            }
            Kind::OneWay(_) => {
                for link in 0..2 {
                    let to = format!("{}/32", node_addr(3 - node, link));
                    run(&["ip", "-n", &ns, "route", "replace", "blackhole", &to])?;
                }
            }
            Kind::LossBurst { percent, .. } => {
                let rules = format!(
                    "table inet chaos {{\n chain in {{\n  type filter hook input priority 0;\n  numgen random mod 100 < {percent} drop\n }}\n chain out {{\n  type filter hook output priority 0;\n  numgen random mod 100 < {percent} drop\n }}\n}}\n"
                );
                let file = self.cluster.lab.dir().join("loss.nft");
                std::fs::write(&file, rules).map_err(super::super::io_err("write loss.nft"))?;
                let file = file.display().to_string();
                self.cluster.lab.exec_in(&ns, &["nft", "-f", &file])?;
            }
            Kind::Congestion(_) => {
                for link in 0..2 {
                    let eth = format!("eth{link}");
                    run(&[
                        "tc", "-n", &ns, "qdisc", "add", "dev", &eth, "root", "tbf", "rate",
                        "16kbit", "burst", "1600", "latency", "400ms",
                    ])?;
                }
            }
            Kind::Pause(_) => self.signal(node, Signal::SIGSTOP),
            Kind::AgentFailure(op) => {
                let dir = faults_dir(&self.cluster, node);
                let mut files = vec!["crash"];
                match op {
                    AgentOp::Monitor => {}
                    AgentOp::Start => files.push("start"),
                    AgentOp::Stop => files.push("stop"),
                }
                // The failing operation's file first: the crash must find it.
                for f in files.iter().rev() {
                    std::fs::write(dir.join(f), "")
                        .map_err(super::super::io_err(format!("fault file {f}")))?;
                }
            }
            Kind::FenceOutage { power_loss } => {
                let out = self.board.with_extension("out");
                std::fs::rename(&self.board, &out)
                    .map_err(super::super::io_err("take the power board away"))?;
                if *power_loss {
                    self.power_loss(node)?;
                }
            }
            Kind::ConfigChange { node } => {
                let socket = self.cluster.socket(*node);
                self.ledger.change(&socket);
            }
        }
        Ok(())
    }

    /// Takes `kind` off again (whatever the cluster did meanwhile).
    pub(super) fn heal(&mut self, kind: &Kind, node: u8) {
        let ns = self.cluster.lab.node_ns(node);
        match kind {
            Kind::PowerLoss(_) | Kind::ConfigChange { .. } => {}
            Kind::CleanRestart(_) => {
                self.stopped[usize::from(node - 1)] = false;
                if self.cluster.lab.powered(node) {
                    self.start_daemon(node);
                }
            }
            Kind::LinkCut { .. } | Kind::BothLinksCut(_) => {
                // A fenced node gets its links back when it is powered on.
                if self.cluster.lab.powered(node) {
                    for link in 0..2 {
                        let _ = self.cluster.lab.set_link(node, link, true);
                    }
                }
            }
            Kind::OneWay(_) => {
                for link in 0..2 {
                    let to = format!("{}/32", node_addr(3 - node, link));
                    let _ = run(&["ip", "-n", &ns, "route", "del", "blackhole", &to]);
                }
            }
            Kind::LossBurst { .. } => {
                let _ = run(&[
                    "ip", "netns", "exec", &ns, "nft", "delete", "table", "inet", "chaos",
                ]);
            }
            Kind::Congestion(_) => {
                for link in 0..2 {
                    let eth = format!("eth{link}");
                    let _ = run(&["tc", "-n", &ns, "qdisc", "del", "dev", &eth, "root"]);
                }
            }
            Kind::Pause(_) => self.signal(node, Signal::SIGCONT),
            Kind::AgentFailure(_) => {
                for f in ["crash", "start", "stop"] {
                    let _ = std::fs::remove_file(faults_dir(&self.cluster, node).join(f));
                }
            }
            Kind::FenceOutage { .. } => {
                let _ = std::fs::rename(self.board.with_extension("out"), &self.board);
            }
        }
    }

    /// A power cut of `node` (see `PowerHandle::power_off`).
    pub(super) fn power_loss(&mut self, node: u8) -> Result<(), LabError> {
        self.cluster.lab.power_off(node)?;
        self.daemons[usize::from(node - 1)] = None;
        Ok(())
    }

    /// SIGTERM: the node moves its resources away and leaves; waits (60 s
    /// at most) for the daemon to exit.
    fn clean_stop(&mut self, node: u8) {
        self.stopped[usize::from(node - 1)] = true;
        let Some(pid) = self.daemons[usize::from(node - 1)] else {
            return;
        };
        self.signal(node, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if alive(pid) {
            self.notes.push(format!(
                "node{node}'s daemon did not exit within 60 s of SIGTERM"
            ));
            self.signal(node, Signal::SIGKILL);
        }
        self.daemons[usize::from(node - 1)] = None;
    }

    fn signal(&self, node: u8, signal: Signal) {
        if let Some(pid) = self.daemons[usize::from(node - 1)] {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }

    pub(super) fn start_daemon(&mut self, node: u8) {
        match self.cluster.start(node) {
            Ok(pid) => self.daemons[usize::from(node - 1)] = Some(pid),
            Err(e) => self.note(format!("cannot start node{node}'s daemon: {e}")),
        }
    }
}
