//! Site tickets on a real etcd in namespaces (issue 19): two sites of two
//! nodes each (two paceline clusters, "east" nodes 1-2 and "west" nodes
//! 3-4, which cannot reach each other at all) and three etcd members
//! (Debian's etcd-server), each in its own namespace on the test's bridges
//! (198.18.0.0/15), removed also on failure. A Dummy at each site is tied
//! to ticket "primary". Sampled every 100 ms throughout: never running at
//! both sites. One run: one site takes the ticket; the other site sees only
//! a minority of etcd (nothing changes); the holder sees only a minority
//! while the other sees the majority (etcd's quorum decides: the ticket
//! moves); the holder site is lost (its daemons die: the ticket moves
//! back). Another run: the holder site's DC dies, and the Dummy runs on
//! at that site, never stopped (the new DC read the ticket as a
//! follower). Fencing is off. Needs root, iproute2 and `etcd`; skipped
//! with a message otherwise.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run, report, sh};
#[path = "netns/etcd.rs"]
mod etcd;
use etcd::{ETCD, Etcd, MEMBERS};

const TTL_S: u64 = 4;
const SITES: [(&str, [u8; 2]); 2] = [("east", [1, 2]), ("west", [3, 4])];

/// Rewrites node `i`'s file as a member of its site alone (its cluster's
/// name, its two nodes, `[site]` with a lease of `ttl_s`, the Dummy,
/// preferring the site's second node, and its ticket).
fn make_site(c: &Cluster, i: u8, ttl_s: u64) {
    let (name, own) = SITES.iter().find(|(_, n)| n.contains(&i)).unwrap();
    let path = c.dir.join(format!("node{i}.toml"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for j in 1..=4u8 {
        if !own.contains(&j) {
            let block = format!(
                "[[node]]\nname = \"node{j}\"\nid = {j}\nlinks = [\"198.18.0.{j}\", \"198.18.1.{j}\"]\n"
            );
            text = text.replace(&block, "");
        }
    }
    text = text.replacen(
        &format!("name = \"t{}\"", c.prefix),
        &format!("name = \"{name}\""),
        1,
    );
    let endpoints: Vec<String> = MEMBERS
        .iter()
        .map(|m| format!("\"http://198.18.0.{m}:2379\""))
        .collect();
    text.push_str(&format!(
        "[fencing]\nenabled = false\n\
         [site]\nname = \"{name}\"\ntickets = [\"primary\"]\netcd = [{}]\nttl = \"{ttl_s}s\"\n\
         [[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n\
         [[location]]\nid = \"db-second\"\nresource = \"db\"\nnode = \"node{}\"\nscore = 50\n\
         [[ticket]]\nid = \"db-primary\"\nticket = \"primary\"\nresources = [\"db\"]\n",
        endpoints.join(", "),
        own[1]
    ));
    std::fs::write(path, text).unwrap();
}

/// Adds (or removes) blackhole routes from `from`'s namespace to `to`'s
/// addresses (both links).
fn block(c: &Cluster, from: &str, to: u8, cut: bool) {
    let verb = if cut { "add" } else { "del" };
    for l in 0..2 {
        sh(&[
            "ip",
            "-n",
            &c.ns(from),
            "route",
            verb,
            "blackhole",
            &format!("198.18.{l}.{to}/32"),
        ]);
    }
}

/// Site `s`'s nodes cannot reach etcd member `m` (nor it them).
fn cut_etcd(c: &Cluster, s: usize, m: u8, cut: bool) {
    for i in SITES[s].1 {
        block(c, &format!("n{i}"), m, cut);
        block(c, &format!("e{m}"), i, cut);
    }
}

fn runs_db(c: &Cluster, i: u8) -> bool {
    report(c, i).is_some_and(|r| {
        r.resources
            .iter()
            .any(|v| v.id == "db" && v.role == "Started" && !v.nodes.is_empty())
    })
}

/// Which sites run db now (by the reports of their live nodes).
fn running(c: &Cluster, alive: &[bool; 2]) -> [bool; 2] {
    let site = |s: usize| alive[s] && SITES[s].1.iter().any(|&i| runs_db(c, i));
    [site(0), site(1)]
}

/// Samples every 100 ms until `done` or `within`, panicking if db runs at
/// both sites; whether `done` held.
fn watch(
    c: &Cluster,
    alive: &[bool; 2],
    within: Duration,
    done: impl Fn([bool; 2]) -> bool,
) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let now = running(c, alive);
        assert!(
            !(now[0] && now[1]),
            "db runs at both sites\n{}\n{}",
            c.log(1),
            c.log(3)
        );
        if done(now) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Two sites of two nodes that never see each other, three etcd members,
/// the four daemons started with a lease of `ttl_s`; None (with why
/// printed) where the test cannot run.
fn sites(ttl_s: u64) -> Option<(Cluster, Etcd, Vec<PathBuf>)> {
    if !can_run() || !Path::new(ETCD).exists() {
        eprintln!("skipping: needs root, iproute2 and etcd (Debian's etcd-server)");
        return None;
    }
    let mut c = Cluster::new(4, ("200ms", "1s"));
    for m in MEMBERS {
        let ns = c.ns(&format!("e{m}"));
        c.add_ns(&ns);
        c.attach(&ns, m, &[0]);
    }
    // The sites never see each other.
    for a in [1u8, 2] {
        for b in [3u8, 4] {
            block(&c, &format!("n{a}"), b, true);
            block(&c, &format!("n{b}"), a, true);
        }
    }
    for i in 1..=4 {
        make_site(&c, i, ttl_s);
    }
    let etcd = Etcd::start(&c);
    let rsctmp: Vec<PathBuf> = (1..=4).map(|i| c.dir.join(format!("rsctmp{i}"))).collect();
    for i in 1..=4u8 {
        std::fs::create_dir_all(&rsctmp[usize::from(i - 1)]).unwrap();
        c.start_with_env(i, &[("HA_RSCTMP", &rsctmp[usize::from(i - 1)])]);
    }
    Some((c, etcd, rsctmp))
}

#[test]
fn a_ticket_runs_at_one_site_follows_etcds_majority_and_moves_on_site_loss() {
    let Some((mut c, _etcd, _)) = sites(TTL_S) else {
        return;
    };
    let mut alive = [true, true];
    let long = Duration::from_secs(40);
    assert!(
        watch(&c, &alive, long, |r| r[0] || r[1]),
        "no site took the ticket\n{}\n{}",
        c.log(1),
        c.log(3)
    );
    let holder = usize::from(running(&c, &alive)[1]);
    let other = 1 - holder;

    // The other site sees one etcd member only (a minority): nothing changes.
    cut_etcd(&c, other, 11, true);
    cut_etcd(&c, other, 12, true);
    let stays = watch(&c, &alive, Duration::from_secs(2 * TTL_S), |r| !r[holder]);
    assert!(
        !stays,
        "the holder lost the ticket while the other side saw a minority\n{}",
        c.log(1)
    );

    // Now the holder sees only member 13 and the other the majority: etcd
    // decides, the ticket moves.
    cut_etcd(&c, other, 11, false);
    cut_etcd(&c, other, 12, false);
    cut_etcd(&c, holder, 11, true);
    cut_etcd(&c, holder, 12, true);
    let cut = Instant::now();
    assert!(
        watch(&c, &alive, long, |r| r[other] && !r[holder]),
        "the ticket never moved\n{}\n{}",
        c.log(1),
        c.log(3)
    );
    println!(
        "moved to the majority's side in {:.1} s (ttl {TTL_S} s)",
        cut.elapsed().as_secs_f64()
    );
    cut_etcd(&c, holder, 11, false);
    cut_etcd(&c, holder, 12, false);

    // The site that holds it now is lost: the ticket moves back.
    let lost = Instant::now();
    for i in SITES[other].1 {
        c.kill(i);
    }
    alive[other] = false;
    assert!(
        watch(&c, &alive, long, |r| r[holder]),
        "the ticket never came back\n{}",
        c.log(1)
    );
    println!(
        "moved on site loss in {:.1} s (ttl {TTL_S} s)",
        lost.elapsed().as_secs_f64()
    );
}

/// Issue 19: a DC change at a site stopped and restarted the ticket's
/// resources (the new DC revoked until its first claim came back). The
/// holder site's DC dies; db, on the site's other node, runs on: its
/// Dummy state file keeps a line written after its start (a stop removes
/// the file), and the new DC never revokes the ticket. The TTL is the
/// policies' 12 s: what a follower read must outlast the election with
/// room for a loaded machine (see `config::site`).
#[test]
fn the_ticket_s_resources_run_on_when_the_holder_site_s_dc_dies() {
    const TTL: u64 = 12;
    let Some((mut c, _etcd, rsctmp)) = sites(TTL) else {
        return;
    };
    let alive = [true, true];
    assert!(
        watch(&c, &alive, Duration::from_secs(40), |r| r[0] || r[1]),
        "no site took the ticket\n{}\n{}",
        c.log(1),
        c.log(3)
    );
    let holder = usize::from(running(&c, &alive)[1]);
    let [dc, second] = SITES[holder].1;
    c.until(
        "db on the site's second node",
        Duration::from_secs(20),
        || {
            report(&c, second).is_some_and(|r| {
                r.resources.iter().any(|v| {
                    v.id == "db" && v.role == "Started" && v.nodes == [format!("node{second}")]
                })
            })
        },
    );
    let state = std::fs::read_dir(&rsctmp[usize::from(second - 1)])
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("Dummy-db"))
        .expect("the Dummy's state file");
    let mut text = std::fs::read_to_string(&state).unwrap();
    text.push_str("still the first start\n");
    std::fs::write(&state, &text).unwrap();

    // The other node has read the site's lease as a follower (it reads
    // every sixth of the TTL; a DC lost before that first read restarts
    // db, as a site back from a power loss does).
    c.until(
        "the follower read the lease",
        Duration::from_secs(20),
        || {
            c.log(second)
                .contains("site ticket primary: held by this site")
        },
    );
    c.kill(dc);
    let new_dc = format!("node{second}");
    c.until("the other node is DC", Duration::from_secs(20), || {
        report(&c, second).is_some_and(|r| r.dc.as_deref() == Some(new_dc.as_str()))
    });
    // Well past the election and the new DC's first claims.
    let ran_on = watch(&c, &alive, Duration::from_secs(TTL), |r| !r[holder]);
    assert!(!ran_on, "db stopped at the holder site\n{}", c.log(second));
    let after = std::fs::read_to_string(&state).unwrap_or_default();
    assert!(
        after.contains("still the first start"),
        "db was stopped and started again\n{}",
        c.log(second)
    );
    let log = c.log(second);
    assert!(
        !log.contains("Revoke"),
        "the new DC revoked the ticket\n{log}"
    );
}
