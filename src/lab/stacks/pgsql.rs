//! Stack 1: PostgreSQL primary/standby behind HAProxy. The reference
//! two-node policy with real PostgreSQL (`lab::postgres`: resource-agents'
//! `pgsql`, here in synchronous replication, so a commit is acknowledged
//! only once the standby has it), both nodes' `[http]` endpoint on, the
//! lab's power board as the fence device, and HAProxy in the client
//! namespace: writes to the node whose `/primary/db-ha` answers 200, reads
//! to the one whose `/replica/db-ha` does (`policies/postgresql-haproxy.toml`
//! is the same arrangement on real machines).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::cluster::{Database, LabCluster, VIP};
use super::super::{CLIENT_ADDR, LabError, node_addr, postgres};
use super::haproxy;
use super::{Stack, promoted_db, reference_stack};

/// HAProxy's frontends on the client's address.
pub const WRITE_PORT: u16 = 5000;
pub const READ_PORT: u16 = 5001;

pub struct PgStack {
    pub cluster: LabCluster,
    pub bindir: PathBuf,
}

/// Whether this machine has what the stack needs.
pub fn installed() -> bool {
    postgres::bindir().is_some() && haproxy::installed()
}

/// Builds the two nodes and HAProxy and starts both daemons.
pub fn start(tag: &str, pacelined: &Path, paceline: &Path) -> Result<PgStack, LabError> {
    let bindir = postgres::bindir().ok_or_else(|| LabError::Io {
        what: "PostgreSQL".into(),
        source: std::io::Error::other("not installed (/usr/lib/postgresql/*/bin)"),
    })?;
    let (cluster, dir) = reference_stack(tag, pacelined, paceline, |dir| {
        let shared = dir.join("pg");
        let mut params = postgres::agent_params(&bindir, &shared, VIP);
        for (k, v) in &mut params {
            if k == "rep_mode" {
                *v = "sync".into();
            }
        }
        Ok(Database::Postgres {
            params,
            worker: postgres::queue_worker(&bindir, dir, &shared, VIP)?,
        })
    })?;
    let mut cluster = postgres::provision(cluster, &bindir, &dir.join("pg"))?;
    haproxy::start(
        &mut cluster,
        &[
            haproxy::route("primary", WRITE_PORT, postgres::PORT, "/primary/db-ha"),
            haproxy::route("replica", READ_PORT, postgres::PORT, "/replica/db-ha"),
        ],
    )?;
    cluster.start(1)?;
    cluster.start(2)?;
    Ok(PgStack { cluster, bindir })
}

impl PgStack {
    /// One statement through HAProxy's frontend at `port`.
    pub fn through_haproxy(&self, port: u16, sql: &str) -> Option<String> {
        postgres::query_at(
            &self.bindir,
            &self.cluster.lab.client_ns(),
            (CLIENT_ADDR, port),
            sql,
            Duration::from_secs(2),
        )
    }

    /// The node whose server answered through HAProxy's frontend `port`.
    pub fn routed_to(&self, port: u16) -> Option<u8> {
        let addr = self.through_haproxy(port, "select host(inet_server_addr())")?;
        (1..=self.cluster.nodes()).find(|&i| addr == node_addr(i, 0))
    }

    /// The primary and its standby, once the standby is in sync.
    fn primary(&self) -> Option<(u8, u8)> {
        let (primary, standby) = promoted_db(&self.cluster)?;
        let r = self.cluster.report(primary)?;
        let sync = r
            .node_attribute(&format!("node{standby}"), "db-data-status")
            .is_some_and(|v| v == "STREAMING|SYNC");
        sync.then_some((primary, standby))
    }
}

impl Stack for PgStack {
    fn cluster(&self) -> &LabCluster {
        &self.cluster
    }

    fn ready(&self) -> Option<u8> {
        let (primary, standby) = self.primary()?;
        let routed = self.routed_to(WRITE_PORT) == Some(primary)
            && self.routed_to(READ_PORT) == Some(standby);
        let table = "create table if not exists acked (n bigint primary key)";
        (routed && self.through_haproxy(WRITE_PORT, table).is_some()).then_some(primary)
    }

    fn write(&self, seq: u64) -> bool {
        self.through_haproxy(WRITE_PORT, &format!("insert into acked values ({seq})"))
            .is_some()
    }

    fn read_back(&self) -> Option<BTreeSet<u64>> {
        let rows = self.through_haproxy(WRITE_PORT, "select n from acked")?;
        Some(rows.lines().filter_map(|l| l.parse().ok()).collect())
    }

    fn is_primary(&self, node: u8) -> bool {
        postgres::query(
            &self.bindir,
            &self.cluster.lab.client_ns(),
            &node_addr(node, 0),
            "select pg_is_in_recovery()",
            Duration::from_secs(1),
        )
        .as_deref()
            == Some("f")
    }

    fn served_by(&self) -> Option<u8> {
        self.routed_to(WRITE_PORT)
    }
}
