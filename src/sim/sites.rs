//! Sites sharing tickets through a virtual etcd (issue 19): each site is a
//! paceline cluster of `nodes` nodes, each running the same sans-IO rules
//! the daemon runs (`node::site_tickets`: the DC claims, the others
//! follow), the etcd is a key per ticket under leases with etcd's own
//! clock. Faults, drawn from a seed: a DC crashes (the site elects another
//! within `election_max`; the crashed node comes back later, fresh, and
//! as the lowest id becomes DC again), a whole site loses power (it runs
//! nothing; its status keeps what it said) and comes back, a site is cut
//! off from etcd (the minority side of etcd's own quorum, or the
//! network), etcd goes down. Each site's resources start when the status
//! grants the ticket and stop (taking up to `stop_max`) when it is
//! revoked. Checked every tick: the ticket's resources are never active
//! at two sites at once (starting, running or stopping all count).

use std::collections::BTreeMap;
use std::time::Duration;

use super::rng::SimRng;
use crate::model::ClusterStatus;
use crate::node::site_tickets::{SiteCommand, SiteEvent, SiteTickets, renew_every};

/// The one ticket the sites share.
pub const TICKET: &str = "ticket";

#[derive(Debug, Clone)]
pub struct SitesOptions {
    pub sites: usize,
    /// Nodes per site.
    pub nodes: usize,
    pub ttl: Duration,
    pub tick: Duration,
    /// The longest a site goes without a DC after its DC crashed.
    pub election_max: Duration,
    /// The longest a crashed node stays down.
    pub restart_max: Duration,
    /// How long a node back takes to join its site's membership (the
    /// daemon's first heartbeats and view).
    pub join: Duration,
    /// The longest a stop takes (and a start).
    pub stop_max: Duration,
    /// The longest a request to etcd takes before etcd handles it.
    pub latency_max: Duration,
    /// Chance per tick of a fault.
    pub fault_chance: f64,
}

impl Default for SitesOptions {
    fn default() -> Self {
        Self {
            sites: 2,
            nodes: 2,
            ttl: Duration::from_secs(6),
            tick: Duration::from_millis(50),
            election_max: Duration::from_millis(1500),
            restart_max: Duration::from_secs(10),
            join: Duration::from_millis(500),
            stop_max: Duration::from_secs(1),
            latency_max: Duration::from_millis(200),
            fault_chance: 0.01,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resources {
    Stopped,
    Starting(Duration),
    Running,
    Stopping(Duration),
}

#[derive(Debug, Clone)]
struct Node {
    /// The node's rules, or None while it is down.
    rules: Option<SiteTickets>,
    /// When a crashed node is back (with nothing of before).
    back_at: Option<Duration>,
    /// When a node back joins its site's membership (it talks to etcd
    /// from the start, as the daemon's task does).
    joins_at: Duration,
    next_round: Duration,
    /// etcd's answers on their way back, with when they arrive.
    inbox: Vec<(Duration, SiteEvent)>,
}

#[derive(Debug, Clone)]
struct Site {
    name: String,
    powered: bool,
    nodes: Vec<Node>,
    /// The DC's index, or None while the site elects one (until
    /// `elected_at`).
    dc: Option<usize>,
    elected_at: Option<Duration>,
    cut_off: bool,
    status: ClusterStatus,
    resources: Resources,
}

/// What a follower's read finds.
enum Read {
    /// The key names the reader's site; its lease has this long left.
    Ours(Duration),
    Elsewhere(String),
    Free,
}

/// etcd: the ticket's key (site, lease) and every lease's expiry.
#[derive(Debug, Clone, Default)]
struct Etcd {
    key: Option<(String, u64)>,
    leases: BTreeMap<u64, Duration>,
    next_lease: u64,
    down: bool,
}

impl Etcd {
    fn alive(&self, lease: u64, at: Duration) -> Option<Duration> {
        self.leases.get(&lease).copied().filter(|&x| at < x)
    }

    /// One claim of `site`, handled by etcd at `at`.
    fn round(&mut self, site: &str, at: Duration, ttl: Duration) -> Option<String> {
        match self.key.clone() {
            Some((holder, lease)) if self.alive(lease, at).is_some() => {
                if holder != site {
                    return Some(holder);
                }
                self.leases.insert(lease, at + ttl);
            }
            _ => {
                self.next_lease += 1;
                self.leases.insert(self.next_lease, at + ttl);
                self.key = Some((site.to_string(), self.next_lease));
            }
        }
        None
    }

    /// One follower's read of `site`, handled at `at`: the lease's time
    /// left in whole seconds, as etcd's LeaseTimeToLive truncates it.
    fn read(&self, site: &str, at: Duration) -> Read {
        let Some((holder, lease)) = &self.key else {
            return Read::Free;
        };
        match self.alive(*lease, at) {
            None => Read::Free,
            Some(_) if holder != site => Read::Elsewhere(holder.clone()),
            Some(expiry) => Read::Ours(Duration::from_secs((expiry - at).as_secs())),
        }
    }
}

pub struct SitesSim {
    pub opts: SitesOptions,
    rng: SimRng,
    now: Duration,
    etcd: Etcd,
    sites: Vec<Site>,
    /// Faults injected, in words.
    pub log: Vec<String>,
    /// Every site that ran the resources, in order, with when it started.
    pub runs: Vec<(String, Duration)>,
}

impl SitesSim {
    pub fn new(seed: u64, opts: SitesOptions) -> Self {
        let sites = (0..opts.sites)
            .map(|i| Site {
                name: format!("site{}", i + 1),
                powered: true,
                nodes: (0..opts.nodes)
                    .map(|_| Self::fresh(&opts, Duration::ZERO))
                    .collect(),
                dc: None,
                elected_at: Some(Duration::ZERO),
                cut_off: false,
                status: ClusterStatus::default(),
                resources: Resources::Stopped,
            })
            .collect();
        Self {
            opts,
            rng: SimRng::new(seed),
            now: Duration::ZERO,
            etcd: Etcd::default(),
            sites,
            log: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// A node just started: its rules know nothing and follow.
    fn fresh(opts: &SitesOptions, now: Duration) -> Node {
        Node {
            rules: Some(SiteTickets::new(vec![TICKET.to_string()], opts.ttl)),
            back_at: None,
            joins_at: now,
            next_round: now,
            inbox: Vec::new(),
        }
    }

    /// Runs for `time`, with faults when `faults`; Err names the first
    /// moment the resources were active at two sites.
    pub fn run(&mut self, time: Duration, faults: bool) -> Result<(), String> {
        let end = self.now + time;
        while self.now < end {
            if faults && self.rng.chance(self.opts.fault_chance) {
                self.fault();
            }
            for i in 0..self.sites.len() {
                self.step(i);
            }
            let active: Vec<&str> = self
                .sites
                .iter()
                .filter(|s| s.resources != Resources::Stopped)
                .map(|s| s.name.as_str())
                .collect();
            if active.len() > 1 {
                return Err(format!(
                    "at {:?} active at {active:?}; faults: {:?}",
                    self.now, self.log
                ));
            }
            self.now += self.opts.tick;
        }
        Ok(())
    }

    /// Heals every fault: power, etcd, cuts (crashed nodes come back on
    /// their own).
    pub fn heal(&mut self) {
        self.etcd.down = false;
        for s in &mut self.sites {
            s.cut_off = false;
            if !s.powered {
                s.powered = true;
                s.nodes = (0..self.opts.nodes)
                    .map(|_| Self::fresh(&self.opts, self.now))
                    .collect();
                s.elected_at = Some(self.now);
            }
        }
    }

    /// Cuts site `name` off from etcd.
    pub fn cut_off(&mut self, name: &str) {
        for s in self.sites.iter_mut().filter(|s| s.name == name) {
            s.cut_off = true;
        }
    }

    /// Crashes the DC of site `name`: another node is DC `election`
    /// later, the crashed one is back `back_after` later.
    pub fn crash_dc(&mut self, name: &str, election: Duration, back_after: Duration) {
        let now = self.now;
        for s in self.sites.iter_mut().filter(|s| s.name == name) {
            Self::crash(s, now, election, back_after);
        }
    }

    fn crash(site: &mut Site, now: Duration, election: Duration, back_after: Duration) {
        if let Some(dc) = site.dc.take() {
            site.nodes[dc].rules = None;
            site.nodes[dc].back_at = Some(now + back_after);
            site.elected_at = Some(now + election);
        }
    }

    /// The site whose resources run now, if one.
    pub fn running(&self) -> Option<&str> {
        self.sites
            .iter()
            .find(|s| s.resources == Resources::Running)
            .map(|s| s.name.as_str())
    }

    fn fault(&mut self) {
        let i = self.rng.between(0, self.sites.len() as u64 - 1) as usize;
        let kind = self.rng.between(0, 5);
        let now = self.now;
        let election = Duration::from_millis(
            self.rng
                .between(100, self.opts.election_max.as_millis() as u64),
        );
        let back = Duration::from_millis(self.rng.between(
            election.as_millis() as u64,
            self.opts.restart_max.as_millis() as u64,
        ));
        let opts = self.opts.clone();
        let site = &mut self.sites[i];
        let what = match kind {
            0 if site.powered && site.dc.is_some() => {
                Self::crash(site, now, election, back);
                "DC crashed"
            }
            1 if site.powered => {
                site.powered = false;
                for n in &mut site.nodes {
                    (n.rules, n.back_at) = (None, None);
                }
                site.dc = None;
                site.elected_at = None;
                site.resources = Resources::Stopped;
                "power lost"
            }
            1 => {
                site.powered = true;
                site.nodes = (0..opts.nodes).map(|_| Self::fresh(&opts, now)).collect();
                site.elected_at = Some(now + election);
                "power back"
            }
            0 => "nothing (no DC to crash)",
            2 | 3 => {
                site.cut_off = !site.cut_off;
                if site.cut_off {
                    "cut off from etcd"
                } else {
                    "etcd reachable again"
                }
            }
            _ => {
                self.etcd.down = !self.etcd.down;
                if self.etcd.down {
                    "etcd down"
                } else {
                    "etcd up"
                }
            }
        };
        let who = if kind >= 4 {
            "etcd".to_string()
        } else {
            self.sites[i].name.clone()
        };
        self.log.push(format!("{:?} {who}: {what}", self.now));
    }

    fn step(&mut self, i: usize) {
        let now = self.now;
        if !self.sites[i].powered {
            return;
        }
        self.membership(i);
        for j in 0..self.sites[i].nodes.len() {
            let node = &self.sites[i].nodes[j];
            if node.rules.is_some() && node.next_round <= now {
                self.round(i, j);
            }
            let node = &mut self.sites[i].nodes[j];
            let (due, later) = std::mem::take(&mut node.inbox)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            node.inbox = later;
            if let Some(rules) = node.rules.as_mut() {
                due.into_iter()
                    .for_each(|(_, e): (_, SiteEvent)| rules.event(e));
            }
        }
        let wall = i64::try_from(now.as_secs()).unwrap_or(0);
        let site = &mut self.sites[i];
        let patches = match site.dc.and_then(|d| site.nodes[d].rules.as_ref()) {
            Some(dc) => dc.changes(now, wall, &site.status),
            None => Vec::new(),
        };
        for p in &patches {
            crate::controller::apply_patch(&mut site.status, p);
        }
        self.resources(i);
    }

    /// Crashed nodes coming back, and who is DC: the lowest node up, once
    /// elected (a node back with a lower id takes over at once, as the
    /// view that takes it in makes it DC).
    fn membership(&mut self, i: usize) {
        let now = self.now;
        let opts = self.opts.clone();
        let site = &mut self.sites[i];
        for n in &mut site.nodes {
            if n.back_at.is_some_and(|at| at <= now) {
                *n = Self::fresh(&opts, now);
                n.joins_at = now + opts.join;
            }
        }
        let lowest = site
            .nodes
            .iter()
            .position(|n| n.rules.is_some() && n.joins_at <= now);
        if site.dc.is_none() && site.elected_at.is_none() && lowest.is_some() {
            // Every node had crashed; the first one back forms the site.
            site.elected_at = Some(now);
        }
        if site.elected_at.is_some_and(|at| at <= now) || site.dc.is_some_and(|d| Some(d) != lowest)
        {
            site.elected_at = None;
            site.dc = lowest;
        }
        if lowest.is_none() {
            site.resources = Resources::Stopped;
        }
        for (j, n) in site.nodes.iter_mut().enumerate() {
            if let Some(rules) = n.rules.as_mut()
                && let Some(SiteCommand::Claim { .. }) = rules.set_dc(site.dc == Some(j))
            {
                n.next_round = now;
            }
        }
    }

    /// One round of node `j` of site `i` (a claim if it is the DC, else a
    /// read): etcd handles it `latency` later, its answer arrives `back`
    /// after that.
    fn round(&mut self, i: usize, j: usize) {
        let now = self.now;
        let max = self.opts.latency_max.as_millis() as u64;
        let latency = Duration::from_millis(self.rng.between(0, max));
        let back = Duration::from_millis(self.rng.between(0, max));
        let site = &self.sites[i];
        let ticket = TICKET.to_string();
        let event = if self.etcd.down || site.cut_off {
            SiteEvent::Unreachable {
                ticket,
                why: "no answer (simulated)".into(),
            }
        } else if site.dc == Some(j) {
            match self.etcd.round(&site.name, now + latency, self.opts.ttl) {
                None => SiteEvent::Held {
                    ticket,
                    sent_at: now,
                    ttl: self.opts.ttl,
                },
                Some(site) => SiteEvent::HeldElsewhere { ticket, site },
            }
        } else {
            match self.etcd.read(&site.name, now + latency) {
                Read::Ours(remaining) => SiteEvent::Remaining {
                    ticket,
                    sent_at: now,
                    remaining,
                },
                Read::Elsewhere(site) => SiteEvent::HeldElsewhere { ticket, site },
                Read::Free => SiteEvent::Free { ticket },
            }
        };
        let node = &mut self.sites[i].nodes[j];
        node.next_round = now + renew_every(self.opts.ttl);
        node.inbox.push((now + latency + back, event));
    }

    /// The site's DC and scheduler: start while granted, stop once not.
    fn resources(&mut self, i: usize) {
        let now = self.now;
        let span = self.opts.stop_max.as_millis() as u64;
        let took = Duration::from_millis(self.rng.between(span / 4, span));
        let site = &mut self.sites[i];
        // Without a DC nothing is planned: what runs keeps running.
        if site.dc.is_none() {
            return;
        }
        let usable = site.status.ticket_usable(TICKET);
        site.resources = match (site.resources, usable) {
            (Resources::Stopped, true) => Resources::Starting(now + took),
            (Resources::Starting(at), true) if at <= now => {
                self.runs.push((site.name.clone(), now));
                Resources::Running
            }
            (Resources::Starting(_) | Resources::Running, false) => Resources::Stopping(now + took),
            (Resources::Stopping(at), _) if at <= now => Resources::Stopped,
            (r, _) => r,
        };
    }
}
