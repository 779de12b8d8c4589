//! Stack 3: rConfig-style active/standby with MariaDB. The reference
//! two-node policy (the shared mount, the VIP and the queue worker ordered
//! after the promotion) with a promotable MariaDB (`lab::mariadb`:
//! resource-agents' `mysql`, semi-synchronous replication), both nodes'
//! `[http]` endpoint on, the lab's power board as the fence device, and
//! HAProxy in the client namespace sending writes to the node whose
//! `/primary/db-ha` answers 200, reads to `/replica/db-ha`
//! (`policies/mariadb-active-standby.toml` on real machines).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::super::cluster::{Database, LabCluster};
use super::super::{CLIENT_ADDR, LabError, mariadb, node_addr};
use super::haproxy::{self, route};
use super::{Stack, promoted_db, reference_stack};

/// HAProxy's frontends on the client's address.
pub const WRITE_PORT: u16 = 3307;
pub const READ_PORT: u16 = 3308;

pub struct MariadbStack {
    pub cluster: LabCluster,
}

pub fn installed() -> bool {
    mariadb::installed() && haproxy::installed()
}

/// Builds the two nodes and HAProxy and starts both daemons.
pub fn start(tag: &str, pacelined: &Path, paceline: &Path) -> Result<MariadbStack, LabError> {
    let (cluster, dir) = reference_stack(tag, pacelined, paceline, |dir| {
        Ok(Database::Mariadb {
            params: mariadb::agent_params(&dir.join("db")),
        })
    })?;
    let mut cluster = mariadb::provision(cluster, &dir.join("db"))?;
    haproxy::start(
        &mut cluster,
        &[
            route("primary", WRITE_PORT, mariadb::PORT, "/primary/db-ha"),
            route("replica", READ_PORT, mariadb::PORT, "/replica/db-ha"),
        ],
    )?;
    cluster.start(1)?;
    cluster.start(2)?;
    Ok(MariadbStack { cluster })
}

impl MariadbStack {
    fn sql(&self, at: (&str, u16), sql: &str) -> Option<String> {
        mariadb::query(
            &self.cluster.lab.client_ns(),
            at,
            sql,
            Duration::from_secs(2),
        )
    }

    /// One statement through HAProxy's frontend at `port`.
    pub fn through_haproxy(&self, port: u16, sql: &str) -> Option<String> {
        self.sql((CLIENT_ADDR, port), sql)
    }

    /// The node whose server answered through HAProxy's frontend `port`
    /// (server_id is the node's number).
    pub fn routed_to(&self, port: u16) -> Option<u8> {
        self.through_haproxy(port, "select @@server_id")?
            .parse()
            .ok()
    }

    fn on_node(&self, node: u8, sql: &str) -> Option<String> {
        self.sql((&node_addr(node, 0), mariadb::PORT), sql)
    }

    /// The replica's replication threads run, and the primary has one
    /// semi-synchronous replica.
    fn replicating(&self, primary: u8, replica: u8) -> bool {
        let status =
            |node: u8, name: &str| self.on_node(node, &format!("show global status like '{name}'"));
        status(replica, "Slave_running").is_some_and(|v| v.ends_with("\tON"))
            && status(primary, "Rpl_semi_sync_master_clients").is_some_and(|v| v.ends_with("\t1"))
    }
}

impl Stack for MariadbStack {
    fn cluster(&self) -> &LabCluster {
        &self.cluster
    }

    fn ready(&self) -> Option<u8> {
        let (primary, replica) = promoted_db(&self.cluster)?;
        (self.replicating(primary, replica)
            && self.routed_to(WRITE_PORT) == Some(primary)
            && self.routed_to(READ_PORT) == Some(replica))
        .then_some(primary)
    }

    fn write(&self, seq: u64) -> bool {
        self.through_haproxy(WRITE_PORT, &format!("insert into app.acked values ({seq})"))
            .is_some()
    }

    fn read_back(&self) -> Option<BTreeSet<u64>> {
        let rows = self.through_haproxy(WRITE_PORT, "select n from app.acked")?;
        Some(rows.lines().filter_map(|l| l.parse().ok()).collect())
    }

    fn is_primary(&self, node: u8) -> bool {
        self.on_node(node, "select @@read_only").as_deref() == Some("0")
    }

    fn served_by(&self) -> Option<u8> {
        self.routed_to(WRITE_PORT)
    }
}
