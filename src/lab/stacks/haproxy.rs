//! Debian's HAProxy in the lab's client namespace, in front of the nodes
//! as Patroni's users put it in front of PostgreSQL: a TCP frontend per
//! route on the client's address, each node a server whose health check
//! is an HTTP GET of the node's `[http]` endpoint (`/primary/RES`,
//! `/replica/RES`), so clients reach the node paceline promoted.

use std::path::Path;

use super::super::cluster::LabCluster;
use super::super::{CLIENT_ADDR, LabError, io_err, node_addr, run};

/// Where the nodes' `[http]` endpoint listens (Patroni's REST API port).
pub const HTTP_PORT: u16 = 8008;

/// The `[http]` section every stack's nodes run.
pub const HTTP_SECTION: &str = "\n[http]\nlisten = [\"0.0.0.0:8008\"]\n";

const HAPROXY: &str = "/usr/sbin/haproxy";

/// One frontend: clients connect to the client's address at `port`, and
/// reach `backend_port` of the nodes whose endpoint answers 200 at `check`.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub port: u16,
    pub backend_port: u16,
    pub check: String,
}

/// A frontend named `name` on the client's `port` to the nodes'
/// `backend_port`, checked at `check`.
pub fn route(name: &str, port: u16, backend_port: u16, check: &str) -> Route {
    Route {
        name: name.into(),
        port,
        backend_port,
        check: check.into(),
    }
}

pub fn installed() -> bool {
    Path::new(HAPROXY).exists()
}

/// haproxy.cfg for `routes` over nodes 1..=`nodes`. A node is marked down
/// after two failed checks 200 ms apart, up after one good one, and its
/// sessions are cut when it goes down (a client stuck on a dead primary
/// would otherwise wait for its own timeouts).
pub fn config(routes: &[Route], nodes: u8) -> String {
    let mut cfg = String::from(
        "global\n  maxconn 256\n\
         defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  timeout check 1s\n",
    );
    for r in routes {
        cfg.push_str(&format!(
            "frontend {name}\n  bind {CLIENT_ADDR}:{port}\n  default_backend {name}\n\
             backend {name}\n  option httpchk GET {check}\n  http-check expect status 200\n\
             \x20 default-server inter 200ms fall 2 rise 1 on-marked-down shutdown-sessions\n",
            name = r.name,
            port = r.port,
            check = r.check,
        ));
        for i in 1..=nodes {
            cfg.push_str(&format!(
                "  server node{i} {}:{} check port {HTTP_PORT}\n",
                node_addr(i, 0),
                r.backend_port
            ));
        }
    }
    cfg
}

/// Checks the configuration with `haproxy -c` and runs HAProxy in the
/// client namespace for as long as the lab lives (its log beside the
/// nodes' logs).
pub fn start(cluster: &mut LabCluster, routes: &[Route]) -> Result<(), LabError> {
    let dir = cluster.lab.dir().to_path_buf();
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, config(routes, cluster.nodes()))
        .map_err(io_err(format!("write {}", cfg.display())))?;
    let cfg = cfg.display().to_string();
    run(&[HAPROXY, "-c", "-q", "-f", &cfg])?;
    cluster.lab.spawn_on_client(
        Path::new(HAPROXY),
        &["-db", "-f", &cfg],
        &dir.join("haproxy.log"),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_node_is_checked_on_its_endpoint() {
        let cfg = config(
            &[Route {
                name: "primary".into(),
                port: 5000,
                backend_port: 5432,
                check: "/primary/db-ha".into(),
            }],
            2,
        );
        assert!(cfg.contains("bind 198.18.0.250:5000"), "{cfg}");
        assert!(cfg.contains("option httpchk GET /primary/db-ha"), "{cfg}");
        assert!(
            cfg.contains("server node2 198.18.0.2:5432 check port 8008"),
            "{cfg}"
        );
    }
}
