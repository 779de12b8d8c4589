//! Sites sharing tickets through a virtual etcd (issue 19): each site is a
//! paceline cluster seen from its DC, running the same sans-IO rules the
//! daemon runs (`node::site_tickets`), the etcd is a key per ticket under
//! leases with etcd's own clock. Faults, drawn from a seed: a DC crashes
//! (the site elects another within `election_max`), a whole site loses
//! power (it runs nothing; its status keeps what it said) and comes back,
//! a site is cut off from etcd (the minority side of etcd's own quorum, or
//! the network), etcd goes down. Each site's resources start when the
//! status grants the ticket and stop (taking up to `stop_max`) when it is
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
    pub ttl: Duration,
    pub tick: Duration,
    /// The longest a site goes without a DC after its DC crashed.
    pub election_max: Duration,
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
            ttl: Duration::from_secs(6),
            tick: Duration::from_millis(50),
            election_max: Duration::from_millis(1500),
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
struct Site {
    name: String,
    powered: bool,
    /// The DC's machine, or None while the site elects one (until then).
    dc: Option<SiteTickets>,
    elected_at: Option<Duration>,
    cut_off: bool,
    next_round: Duration,
    status: ClusterStatus,
    resources: Resources,
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
    /// One claim of `site`, handled by etcd at `at`.
    fn round(&mut self, site: &str, at: Duration, ttl: Duration) -> Option<String> {
        let alive = |e: &Etcd, l: u64| e.leases.get(&l).is_some_and(|&x| at < x);
        match self.key.clone() {
            Some((holder, lease)) if alive(self, lease) => {
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
                dc: None,
                elected_at: Some(Duration::ZERO),
                cut_off: false,
                next_round: Duration::ZERO,
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

    /// Heals every fault: power, etcd, cuts.
    pub fn heal(&mut self) {
        self.etcd.down = false;
        for s in &mut self.sites {
            s.cut_off = false;
            if !s.powered {
                s.powered = true;
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
        let site = &mut self.sites[i];
        let what = match kind {
            0 if site.powered => {
                site.dc = None;
                site.elected_at = Some(now + election);
                "DC crashed"
            }
            1 if site.powered => {
                site.powered = false;
                site.dc = None;
                site.elected_at = None;
                site.resources = Resources::Stopped;
                "power lost"
            }
            1 => {
                site.powered = true;
                site.elected_at = Some(now + election);
                "power back"
            }
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
        if self.sites[i].elected_at.is_some_and(|at| at <= now) {
            let site = &mut self.sites[i];
            site.elected_at = None;
            let mut dc = SiteTickets::new(vec![TICKET.to_string()], self.opts.ttl);
            if let Some(SiteCommand::Claim { .. }) = dc.set_dc(now, true) {
                site.next_round = now;
            }
            site.dc = Some(dc);
        }
        if self.sites[i].dc.is_some() && self.sites[i].next_round <= now {
            self.claim(i);
        }
        let wall = i64::try_from(now.as_secs()).unwrap_or(0);
        let site = &mut self.sites[i];
        let patches = match &site.dc {
            Some(dc) => dc.changes(now, wall, &site.status),
            None => Vec::new(),
        };
        for p in &patches {
            crate::controller::apply_patch(&mut site.status, p);
        }
        self.resources(i);
    }

    /// One round of the DC's claim: etcd handles it `latency` later.
    fn claim(&mut self, i: usize) {
        let now = self.now;
        let latency = Duration::from_millis(
            self.rng
                .between(0, self.opts.latency_max.as_millis() as u64),
        );
        let site = &self.sites[i];
        let event = if self.etcd.down || site.cut_off {
            SiteEvent::Unreachable {
                ticket: TICKET.into(),
                why: "no answer (simulated)".into(),
            }
        } else {
            match self.etcd.round(&site.name, now + latency, self.opts.ttl) {
                None => SiteEvent::Held {
                    ticket: TICKET.into(),
                    sent_at: now,
                    ttl: self.opts.ttl,
                },
                Some(other) => SiteEvent::HeldElsewhere {
                    ticket: TICKET.into(),
                    site: other,
                },
            }
        };
        let site = &mut self.sites[i];
        site.next_round = now + renew_every(self.opts.ttl);
        if let Some(dc) = site.dc.as_mut() {
            dc.event(event);
        }
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
