//! Site tickets on a real etcd (issue 19): two sites (two one-node
//! paceline clusters on loopback, each with `[site]` and a Dummy tied to
//! ticket `primary`) and one etcd member (Debian's etcd-server). One site
//! takes the ticket and runs the Dummy, the other does not, sampled every
//! 100 ms; when the holder's daemon dies (its site is lost), the other site
//! takes the ticket once the lease expired and starts the Dummy. Over TLS
//! (certificates made with openssl in the test): etcd requires client
//! certificates; a site without one never takes the ticket, a site with
//! one does. Needs `/usr/bin/etcd` (and openssl); skipped with a message
//! otherwise. About 15 s.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use paceline::api::{self, Request, Response, StatusReport};

#[path = "local/mod.rs"]
mod local;

const ETCD: &str = "/usr/bin/etcd";
const TTL_S: u64 = 4;

/// One etcd member on loopback, killed and its directory removed when dropped.
struct Etcd {
    child: Child,
    dir: PathBuf,
    client: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Etcd {
    fn start() -> Etcd {
        Etcd::start_with("plsetcd", None)
    }

    /// With `tls` (a directory of `tls_files`): https, client certificates
    /// signed by its CA required.
    fn start_with(tag: &str, tls: Option<&Path>) -> Etcd {
        let dir = std::env::temp_dir().join(format!("{tag}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{}", free_tcp_port());
        let peer = format!("http://127.0.0.1:{}", free_tcp_port());
        let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
        let mut cmd = Command::new(ETCD);
        cmd.args(["--name", "e1", "--data-dir"])
            .arg(dir.join("data"))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &format!("e1={peer}")]);
        if let Some(t) = tls {
            cmd.arg("--cert-file")
                .arg(t.join("server.pem"))
                .arg("--key-file")
                .arg(t.join("server.key"))
                .arg("--trusted-ca-file")
                .arg(t.join("ca.pem"))
                .arg("--client-cert-auth");
        }
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn().unwrap();
        Etcd { child, dir, client }
    }
}

/// A CA, etcd's server certificate for 127.0.0.1 and a client
/// certificate, made with openssl in `dir` (EC P-256, one day).
fn tls_files(dir: &Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let subj = ["-days", "1", "-subj", "/CN=test-ca"];
    let ca = [
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem"],
        &subj,
    ]
    .concat();
    if !run(&ca) {
        return false;
    }
    for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        let ext = format!("subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\n");
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let cn = format!("/CN={name}");
        let req = [
            &["req"][..],
            &ec,
            &["-keyout", &key, "-out", &csr, "-subj", &cn],
        ]
        .concat();
        let ext = format!("{name}.ext");
        let sign = [
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "1",
            "-extfile",
            &ext,
        ];
        if !run(&req) || !run(&sign) {
            return false;
        }
    }
    true
}

/// One site: a lone daemon of cluster `name`.
struct Site {
    name: &'static str,
    daemon: Option<local::Running>,
}

impl Site {
    fn start(name: &'static str, etcd: &str) -> Site {
        Site::start_with(name, etcd, "")
    }

    /// `extra` goes into `[site]` (ca, cert, key).
    fn start_with(name: &'static str, etcd: &str, extra: &str) -> Site {
        let dir = std::env::temp_dir().join(format!("pls{name}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
        let key = dir.join("authkey");
        local::keygen(&key);
        let config = format!(
            "[cluster]\nname = \"{name}\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\n\
             [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n\
             [[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n\
             [fencing]\nenabled = false\n\
             [site]\nname = \"{name}\"\ntickets = [\"primary\"]\netcd = [\"{etcd}\"]\nttl = \"{TTL_S}s\"\n{extra}\
             [[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n\
             [[ticket]]\nid = \"db-primary\"\nticket = \"primary\"\nresources = [\"db\"]\n",
            key.display(),
            dir.join("state").display(),
            local::free_udp_port()
        );
        let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
        let child = local::start_node1(&dir, &config, true, log);
        Site {
            name,
            daemon: Some(local::Running { dir, child }),
        }
    }

    fn report(&self) -> Option<StatusReport> {
        let d = self.daemon.as_ref()?;
        match api::call(&d.dir.join("api.sock"), &Request::Report) {
            Ok(Response::Report(r)) => Some(*r),
            _ => None,
        }
    }

    fn runs_db(&self) -> bool {
        self.report().is_some_and(|r| {
            r.resources
                .iter()
                .any(|v| v.id == "db" && v.role == "Started" && !v.nodes.is_empty())
        })
    }

    fn log(&self) -> String {
        let dir: Option<&Path> = self.daemon.as_ref().map(|d| d.dir.as_path());
        dir.map(|d| std::fs::read_to_string(d.join("daemon.log")).unwrap_or_default())
            .unwrap_or_default()
    }
}

/// Samples both sites every 100 ms until `done` or `within`; panics if
/// both run db at once. Returns whether `done` held.
fn watch(sites: &[Site; 2], within: Duration, done: impl Fn(&[bool; 2]) -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let now = [sites[0].runs_db(), sites[1].runs_db()];
        assert!(
            !(now[0] && now[1]),
            "db runs at both sites:\n{}\n{}",
            sites[0].log(),
            sites[1].log()
        );
        if done(&now) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn the_ticket_runs_at_one_site_and_moves_when_it_is_lost() {
    if !Path::new(ETCD).exists() {
        eprintln!("skipping: needs {ETCD} (Debian's etcd-server)");
        return;
    }
    let etcd = Etcd::start();
    let mut sites = [
        Site::start("east", &etcd.client),
        Site::start("west", &etcd.client),
    ];
    let one = watch(&sites, Duration::from_secs(30), |r| r[0] || r[1]);
    assert!(
        one,
        "no site took the ticket:\n{}\n{}",
        sites[0].log(),
        sites[1].log()
    );
    // Held, it stays where it is.
    watch(&sites, Duration::from_secs(3), |_| false);
    let holder = usize::from(sites[1].runs_db());
    let other = 1 - holder;
    assert!(sites[holder].runs_db());
    // Status says what etcd says, at both sites (text and JSON).
    let status = |i: usize, json: bool| {
        let socket = sites[i].daemon.as_ref().unwrap().dir.join("api.sock");
        let mut args = vec!["status", "--socket"];
        if json {
            args = vec!["status", "--output", "json", "--socket"];
        }
        let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(&args)
            .arg(&socket)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", local::text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // Each says what etcd last answered it: asked until both answers are
    // the expected ones (a round that timed out on a loaded machine says
    // "etcd unreachable" meanwhile).
    let h = sites[holder].name;
    let holds = format!("etcd: held by this site ({h}), counts here until ");
    let elsewhere = format!("held by site {h}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = status(holder, false);
        let json: StatusReport = serde_json::from_str(&status(other, true)).unwrap();
        let t = json.tickets.iter().find(|t| t.ticket == "primary").unwrap();
        assert!(!t.granted && t.counts_until.is_none(), "{t:?}");
        if text.contains(&holds) && t.etcd.as_deref() == Some(elsewhere.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "{text}\n{t:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // By hand it is refused: the site's DC grants and revokes it.
    let socket = sites[holder].daemon.as_ref().unwrap().dir.join("api.sock");
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["ticket", "revoke", "primary", "--force", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", local::text(&out));
    assert!(local::text(&out).contains("granted through etcd"));
    // The holder's site is lost: its daemon dies with what it ran.
    let lost = Instant::now();
    sites[holder].daemon = None;
    let moved = watch(&sites, Duration::from_secs(30), |r| r[other]);
    assert!(
        moved,
        "{} never took the ticket:\n{}",
        sites[other].name,
        sites[other].log()
    );
    let took = lost.elapsed();
    println!(
        "ticket moved from {} to {} in {:.1} s (ttl {TTL_S} s)",
        sites[holder].name,
        sites[other].name,
        took.as_secs_f64()
    );
    assert!(
        took >= Duration::from_secs(TTL_S / 2),
        "moved before the lease could expire: {took:?}"
    );
    drop(etcd);
}

#[test]
fn the_ticket_is_claimed_over_tls_with_a_client_certificate() {
    if !Path::new(ETCD).exists() || !Path::new("/usr/bin/openssl").exists() {
        eprintln!("skipping: needs {ETCD} (Debian's etcd-server) and openssl");
        return;
    }
    let certs = std::env::temp_dir().join(format!("plscerts{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&certs);
    std::fs::create_dir_all(&certs).unwrap();
    assert!(tls_files(&certs), "openssl could not make the certificates");
    let etcd = Etcd::start_with("plsetcdtls", Some(&certs));
    let c = |f: &str| certs.join(f).display().to_string();
    let ca = format!("ca = \"{}\"\n", c("ca.pem"));
    let tls = format!(
        "{ca}cert = \"{}\"\nkey = \"{}\"\n",
        c("client.pem"),
        c("client.key")
    );
    // Without a client certificate etcd refuses the site: it never runs db.
    let refused = Site::start_with("nocert", &etcd.client, &ca);
    // Alone for three TTLs (a site with a certificate takes it at once).
    let alone = Instant::now() + Duration::from_secs(3 * TTL_S);
    while Instant::now() < alone {
        assert!(
            !refused.runs_db(),
            "a site without a client certificate got the ticket"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let site = Site::start_with("tls", &etcd.client, &tls);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !site.runs_db() {
        assert!(
            Instant::now() < deadline,
            "no ticket over TLS:\n{}",
            site.log()
        );
        assert!(
            !refused.runs_db(),
            "a site without a client certificate got the ticket"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !refused.runs_db(),
        "a site without a client certificate got the ticket"
    );
    drop(etcd);
    let _ = std::fs::remove_dir_all(&certs);
}
