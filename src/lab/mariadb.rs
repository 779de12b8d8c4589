//! Real MariaDB on the lab's nodes, run by resource-agents' `mysql` as a
//! promotable clone: one data directory per node at the same path (the
//! cluster's private path, see `LabCluster::with_private_path`), made by
//! one `mariadb-install-db` and copied, so both start from one history
//! with binary logs on and semi-synchronous replication (a commit is
//! acknowledged once the replica has it; after 2 s without a replica the
//! primary goes on alone). The agent starts both read-only, the promoted
//! one turns writable and publishes its binary log position
//! (`crm_attribute --type crm_config`), and the other replicates from it
//! (its address: the node's permanent attribute `db_mysql_master_IP`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::LabCluster;
use super::{LabError, io_err, run};

pub const PORT: u16 = 3306;
/// The account of the agent, replication and the test's clients.
pub const USER: &str = "repl";
pub const PASSWORD: &str = "repl";
const SERVER: &str = "/usr/sbin/mariadbd";
const SAFE: &str = "/usr/bin/mysqld_safe";
const CLIENT: &str = "/usr/bin/mariadb";
const INSTALL_DB: &str = "/usr/bin/mariadb-install-db";

pub fn installed() -> bool {
    [SERVER, SAFE, CLIENT, INSTALL_DB]
        .iter()
        .all(|p| Path::new(p).exists())
        && Path::new("/usr/lib/ocf/resource.d/heartbeat/mysql").exists()
}

/// The `mysql` primitive's parameters, for nodes whose private path is
/// `shared`.
pub fn agent_params(shared: &Path) -> Vec<(String, String)> {
    let at = |p: &str| shared.join(p).display().to_string();
    [
        ("binary", SAFE.to_string()),
        ("client_binary", CLIENT.to_string()),
        ("config", at("my.cnf")),
        ("datadir", at("data")),
        ("pid", at("run/mysqld.pid")),
        ("socket", at("run/mysqld.sock")),
        ("log", at("error.log")),
        ("user", "mysql".into()),
        ("group", "mysql".into()),
        ("replication_user", USER.into()),
        ("replication_passwd", PASSWORD.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Node `node`'s my.cnf (its own server_id).
fn my_cnf(node: u8) -> String {
    format!(
        "# paceline lab: MariaDB replication between the namespace nodes\n\
         [mysqld]\n\
         bind_address = 0.0.0.0\n\
         port = {PORT}\n\
         server_id = {node}\n\
         log_bin = mysql-bin\n\
         binlog_format = ROW\n\
         log_slave_updates = ON\n\
         skip_name_resolve = ON\n\
         rpl_semi_sync_master_enabled = ON\n\
         rpl_semi_sync_slave_enabled = ON\n\
         rpl_semi_sync_master_timeout = 2000\n\
         rpl_semi_sync_master_wait_point = AFTER_SYNC\n\
         innodb_buffer_pool_size = 16M\n\
         innodb_flush_log_at_trx_commit = 2\n\
         sync_binlog = 0\n\
         performance_schema = OFF\n"
    )
}

/// The account and the test's table, made once before the data is copied.
const SETUP_SQL: &str = "\
CREATE USER 'repl'@'%' IDENTIFIED BY 'repl';
GRANT ALL PRIVILEGES ON *.* TO 'repl'@'%' WITH GRANT OPTION;
CREATE USER 'repl'@'localhost' IDENTIFIED BY 'repl';
GRANT ALL PRIVILEGES ON *.* TO 'repl'@'localhost' WITH GRANT OPTION;
CREATE DATABASE app;
CREATE TABLE app.acked (n BIGINT PRIMARY KEY) ENGINE=InnoDB;
";

/// Gives every node of `cluster` its own directory at `shared` and creates
/// the databases there before any daemon starts: one `mariadb-install-db`
/// and a server run once (no network) for `SETUP_SQL`, copied to the
/// other nodes.
pub fn provision(cluster: LabCluster, shared: &Path) -> Result<LabCluster, LabError> {
    let cluster = cluster.with_private_path(shared)?;
    let dirs: Vec<PathBuf> = (1..=cluster.nodes())
        .map(|i| cluster.node_private_dir(i))
        .collect();
    let first = dirs
        .first()
        .ok_or_else(|| io_err("no node")(std::io::Error::other("none")))?;
    for (i, dir) in (1u8..).zip(&dirs) {
        std::fs::create_dir_all(dir.join("run")).map_err(io_err("create run"))?;
        std::fs::write(dir.join("my.cnf"), my_cnf(i)).map_err(io_err("write my.cnf"))?;
    }
    let data = first.join("data").display().to_string();
    run(&["chown", "-R", "mysql:mysql", &first.display().to_string()])?;
    run(&[
        INSTALL_DB,
        &format!("--defaults-file={}", first.join("my.cnf").display()),
        "--user=mysql",
        &format!("--datadir={data}"),
        "--skip-test-db",
        "--auth-root-authentication-method=socket",
    ])?;
    setup_once(first, &data)?;
    for dir in &dirs[1..] {
        run(&["cp", "-a", &data, &dir.join("data").display().to_string()])?;
    }
    for dir in &dirs {
        run(&["chown", "-R", "mysql:mysql", &dir.display().to_string()])?;
    }
    Ok(cluster)
}

/// Runs the server once without networking, applies `SETUP_SQL` as root
/// over its socket, and stops it.
fn setup_once(dir: &Path, data: &str) -> Result<(), LabError> {
    let socket = dir.join("setup.sock").display().to_string();
    let mut server = Command::new(SERVER)
        .arg(format!("--defaults-file={}", dir.join("my.cnf").display()))
        .args(["--user=mysql", "--skip-networking", "--skip-log-bin"])
        .arg(format!("--datadir={data}"))
        .arg(format!("--socket={socket}"))
        .arg(format!("--pid-file={}", dir.join("setup.pid").display()))
        .arg(format!("--log-error={}", dir.join("setup.log").display()))
        .stdin(Stdio::null())
        .spawn()
        .map_err(io_err("start mariadbd for the setup"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let applied = loop {
        let out = Command::new(CLIENT)
            .args(["-S", &socket, "-u", "root", "-e", SETUP_SQL])
            .output();
        if out.as_ref().is_ok_and(|o| o.status.success()) {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err(LabError::Command {
                command: "the MariaDB setup".into(),
                detail: format!("{out:?}"),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = Command::new(CLIENT)
        .args(["-S", &socket, "-u", "root", "-e", "SHUTDOWN"])
        .output();
    let _ = server.wait();
    applied
}

/// One statement with the `mariadb` client inside namespace `ns` against
/// `host:port`: its tab-separated output without column names, or None
/// without an answer within `timeout` (killed a second after it).
pub fn query(ns: &str, (host, port): (&str, u16), sql: &str, timeout: Duration) -> Option<String> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, CLIENT])
        .args(["-h", host, "-P", &port.to_string(), "-u", USER])
        .arg(format!("-p{PASSWORD}"))
        .arg(format!("--connect-timeout={}", timeout.as_secs().max(1)))
        .args(["-N", "-B", "-e", sql]);
    super::output_within(cmd, timeout + Duration::from_secs(1))
}
