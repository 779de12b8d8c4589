//! builtin:ipaddr, a virtual IP managed through netlink: add/remove the
//! address, announce it (IPv4: gratuitous ARP; IPv6: unsolicited neighbour
//! advertisements; repeated like IPaddr2's arp_count), refuse to start when
//! another host already answers for it (IPv4: ARP probe; IPv6: the kernel's
//! duplicate address detection, waited for; neither right after the
//! previous holder was fenced, `checks_for_duplicates`), and monitor that
//! it is present, usable and on a link that is up.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use futures_util::TryStreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::Handle;

use super::builtin::Outcome;
use super::rc::OcfRc;
use crate::model::FENCED_HOLDER_META;

#[derive(Debug, Clone)]
struct VipParams {
    ip: IpAddr,
    prefix: u8,
    nic: String,
    label: Option<String>,
    arp_count: u32,
    arp_interval: Duration,
    dad: bool,
    /// How long to listen for another host answering the ARP probe.
    dad_wait: Duration,
    /// IPv6: how long to wait for the kernel's duplicate address detection.
    dad_timeout: Duration,
}

fn parse(params: &BTreeMap<String, String>) -> Result<VipParams, Outcome> {
    let bad = |m: String| Outcome::fail(OcfRc::ERR_CONFIGURED, m);
    let ip: IpAddr = params
        .get("ip")
        .ok_or_else(|| bad("parameter ip is required (e.g. ip = \"198.18.0.100\")".into()))?
        .parse()
        .map_err(|_| {
            bad(format!(
                "ip {:?} is not an IPv4 or IPv6 address",
                params["ip"]
            ))
        })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match params.get("cidr_netmask") {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
            bad(format!(
                "cidr_netmask {p:?} must be a prefix length 0..={max}"
            ))
        })?,
    };
    let nic = params.get("nic").cloned().ok_or_else(|| {
        bad("parameter nic is required (the interface to add the address to)".into())
    })?;
    let num = |k: &str, d: u64| -> Result<u64, Outcome> {
        params
            .get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(format!("{k} {v:?} must be a number")))
            })
            .unwrap_or(Ok(d))
    };
    Ok(VipParams {
        ip,
        prefix,
        nic,
        label: params.get("label").cloned(),
        arp_count: num("arp_count", 5)? as u32,
        arp_interval: Duration::from_millis(num("arp_interval", 200)?),
        // Hosts answer ARP within a millisecond or two on a LAN; 100 ms
        // leaves room for a loaded host without stretching failover.
        dad_wait: Duration::from_millis(num("dad_wait", 100)?),
        dad_timeout: Duration::from_millis(num("dad_timeout", 5000)?),
        dad: params
            .get("dad")
            .map(|v| v != "false" && v != "0")
            .unwrap_or(true),
    })
}

/// Whether a start checks that no other host uses the address (`dad`):
/// not when the DC says the instance last ran on a node fenced since
/// (`FENCED_HOLDER_META`). That host is off and cannot answer; the check
/// would only delay the takeover (the ARP probe's 100 ms on every
/// failover, IPv6's duplicate address detection a second). A host outside
/// the cluster using the address is still found at every other start
/// (the first one, a move, a restart in place).
fn checks_for_duplicates(p: &VipParams, meta: &BTreeMap<String, String>) -> bool {
    p.dad && !meta.contains_key(FENCED_HOLDER_META)
}

struct Link {
    index: u32,
    up: bool,
    mac: Vec<u8>,
}

async fn link(h: &Handle, nic: &str) -> Result<Link, Outcome> {
    let mut s = h.link().get().match_name(nic.to_string()).execute();
    match s.try_next().await {
        Ok(Some(m)) => Ok(Link {
            index: m.header.index,
            up: m.header.flags.contains(LinkFlags::Up)
                && m.header.flags.contains(LinkFlags::LowerUp),
            mac: m
                .attributes
                .iter()
                .find_map(|a| match a {
                    LinkAttribute::Address(mac) => Some(mac.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
        }),
        _ => Err(Outcome::fail(
            OcfRc::ERR_CONFIGURED,
            format!("interface {nic} does not exist on this node"),
        )),
    }
}

async fn find_addr(h: &Handle, index: u32, ip: IpAddr) -> Result<Option<AddressMessage>, Outcome> {
    let mut s = h.address().get().set_link_index_filter(index).execute();
    loop {
        match s.try_next().await {
            Ok(Some(m)) => {
                let has = m.attributes.iter().any(|a| match a {
                    AddressAttribute::Local(x) | AddressAttribute::Address(x) => *x == ip,
                    _ => false,
                });
                if has {
                    return Ok(Some(m));
                }
            }
            Ok(None) => return Ok(None),
            Err(e) => return Err(Outcome::fail(OcfRc::ERR_GENERIC, format!("netlink: {e}"))),
        }
    }
}

/// The extended address flags (IFA_FLAGS), which carry DAD's state.
fn addr_flags(m: &AddressMessage) -> AddressFlags {
    m.attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Flags(f) => Some(*f),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_truncate(u32::from(m.header.flags.bits())))
}

/// Waits for the kernel's IPv6 duplicate address detection on a freshly
/// added address: Ok once it is no longer tentative, Err if DAD failed
/// (another host holds the address; the address is removed again).
async fn wait_for_dad(h: &Handle, index: u32, p: &VipParams) -> Result<(), Outcome> {
    let deadline = tokio::time::Instant::now() + p.dad_timeout;
    loop {
        let Some(m) = find_addr(h, index, p.ip).await? else {
            return Err(Outcome::fail(
                OcfRc::ERR_GENERIC,
                format!(
                    "{} vanished from {} during duplicate address detection",
                    p.ip, p.nic
                ),
            ));
        };
        let flags = addr_flags(&m);
        if flags.contains(AddressFlags::Dadfailed) {
            let _ = h.address().del(m).execute().await;
            return Err(Outcome::fail(
                OcfRc::ERR_GENERIC,
                format!(
                    "{} is already in use on the link of {} (IPv6 duplicate address detection failed): refusing to start",
                    p.ip, p.nic
                ),
            ));
        }
        if !flags.contains(AddressFlags::Tentative) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = h.address().del(m).execute().await;
            return Err(Outcome::fail(
                OcfRc::ERR_GENERIC,
                format!(
                    "{} stayed tentative on {} for {:?} (duplicate address detection did not finish; is the link up?)",
                    p.ip, p.nic, p.dad_timeout
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn run(
    action: &str,
    params: &BTreeMap<String, String>,
    meta: &BTreeMap<String, String>,
) -> Outcome {
    let mut p = match parse(params) {
        Ok(p) => p,
        Err(o) => return o,
    };
    p.dad = checks_for_duplicates(&p, meta);
    if action == "validate-all" {
        return Outcome::ok();
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(OcfRc::ERR_GENERIC, format!("runtime: {e}")),
    };
    rt.block_on(async move {
        let (conn, h, _) = match rtnetlink::new_connection() {
            Ok(c) => c,
            Err(e) => return Outcome::fail(OcfRc::ERR_PERM, format!("netlink socket: {e}")),
        };
        tokio::spawn(conn);
        match act(&h, action, &p).await {
            Ok(o) | Err(o) => o,
        }
    })
}

async fn act(h: &Handle, action: &str, p: &VipParams) -> Result<Outcome, Outcome> {
    let l = link(h, &p.nic).await?;
    let present = find_addr(h, l.index, p.ip).await?;
    match action {
        "monitor" => Ok(match present {
            None => Outcome::fail(OcfRc::NOT_RUNNING, format!("{} is not on {}", p.ip, p.nic)),
            Some(_) if !l.up => {
                Outcome::fail(OcfRc::ERR_GENERIC, format!("link {} is down", p.nic))
            }
            Some(m) if addr_flags(&m).contains(AddressFlags::Dadfailed) => Outcome::fail(
                OcfRc::ERR_GENERIC,
                format!("{} on {} failed duplicate address detection", p.ip, p.nic),
            ),
            Some(_) => Outcome::ok(),
        }),
        "start" => {
            if present.is_none() {
                if p.dad
                    && let IpAddr::V4(v4) = p.ip
                    && let Some(mac) = arp::probe(l.index, &l.mac, v4, p.dad_wait)
                {
                    return Err(Outcome::fail(
                        OcfRc::ERR_GENERIC,
                        format!(
                            "{} is already in use by {}: refusing to start",
                            p.ip,
                            arp::fmt_mac(&mac)
                        ),
                    ));
                }
                let mut req = h.address().add(l.index, p.ip, p.prefix);
                if let Some(label) = &p.label {
                    req.message_mut()
                        .attributes
                        .push(AddressAttribute::Label(label.clone()));
                }
                if p.ip.is_ipv6() && !p.dad {
                    req.message_mut()
                        .attributes
                        .push(AddressAttribute::Flags(AddressFlags::Nodad));
                }
                req.execute().await.map_err(|e| {
                    Outcome::fail(
                        OcfRc::ERR_GENERIC,
                        format!("adding {}/{} to {}: {e}", p.ip, p.prefix, p.nic),
                    )
                })?;
                if p.ip.is_ipv6() && p.dad {
                    wait_for_dad(h, l.index, p).await?;
                }
            }
            if let IpAddr::V6(v6) = p.ip {
                for i in 0..p.arp_count {
                    if i > 0 {
                        tokio::time::sleep(p.arp_interval).await;
                    }
                    if let Err(e) = ndp::advertise(l.index, &l.mac, v6) {
                        return Err(Outcome::fail(
                            OcfRc::ERR_GENERIC,
                            format!("unsolicited neighbour advertisement on {}: {e}", p.nic),
                        ));
                    }
                    if i == 0 && p.arp_count > 1 {
                        let (idx, mac, count, interval) =
                            (l.index, l.mac.clone(), p.arp_count - 1, p.arp_interval);
                        std::thread::spawn(move || {
                            for _ in 0..count {
                                std::thread::sleep(interval);
                                let _ = ndp::advertise(idx, &mac, v6);
                            }
                        });
                        break;
                    }
                }
            }
            if let IpAddr::V4(v4) = p.ip {
                for i in 0..p.arp_count {
                    if i > 0 {
                        tokio::time::sleep(p.arp_interval).await;
                    }
                    if let Err(e) = arp::announce(l.index, &l.mac, v4) {
                        return Err(Outcome::fail(
                            OcfRc::ERR_GENERIC,
                            format!("gratuitous ARP on {}: {e}", p.nic),
                        ));
                    }
                    // The first announcement is what matters for failover
                    // time; the rest repeat it for hosts that missed it.
                    if i == 0 && p.arp_count > 1 {
                        let (idx, mac, count, interval) =
                            (l.index, l.mac.clone(), p.arp_count - 1, p.arp_interval);
                        std::thread::spawn(move || {
                            for _ in 0..count {
                                std::thread::sleep(interval);
                                let _ = arp::announce(idx, &mac, v4);
                            }
                        });
                        break;
                    }
                }
            }
            Ok(Outcome::ok())
        }
        "stop" => {
            if let Some(m) = present {
                h.address().del(m).execute().await.map_err(|e| {
                    Outcome::fail(
                        OcfRc::ERR_GENERIC,
                        format!("removing {} from {}: {e}", p.ip, p.nic),
                    )
                })?;
            }
            Ok(Outcome::ok())
        }
        other => Ok(Outcome::fail(
            OcfRc::ERR_UNIMPLEMENTED,
            format!("builtin:ipaddr has no action {other:?} (start, stop, monitor, validate-all)"),
        )),
    }
}

/// ARP on a raw packet socket (libc: neither nix nor std wrap AF_PACKET sends).
mod arp {
    use super::Ipv4Addr;
    use std::time::{Duration, Instant};

    pub fn fmt_mac(m: &[u8]) -> String {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    fn frame(mac: &[u8], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
        let mut f = Vec::with_capacity(42);
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(mac);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        f.extend_from_slice(mac);
        f.extend_from_slice(&sender.octets());
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target.octets());
        f
    }

    struct Sock(i32);
    impl Drop for Sock {
        fn drop(&mut self) {
            // SAFETY: the fd is owned by this guard and closed once.
            unsafe { libc::close(self.0) };
        }
    }

    fn open(index: u32) -> std::io::Result<(Sock, libc::sockaddr_ll)> {
        let proto = (libc::ETH_P_ARP as u16).to_be();
        // SAFETY: plain socket(2) call; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let sock = Sock(fd);
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = index as i32;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        // SAFETY: addr is a valid sockaddr_ll of the given length.
        let rc = unsafe {
            libc::bind(
                fd,
                &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((sock, addr))
    }

    fn send(sock: &Sock, addr: &libc::sockaddr_ll, f: &[u8]) -> std::io::Result<()> {
        // SAFETY: f and addr are valid for the lengths passed.
        let n = unsafe {
            libc::sendto(
                sock.0,
                f.as_ptr() as *const libc::c_void,
                f.len(),
                0,
                addr as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Gratuitous ARP request: sender and target are the VIP itself, so
    /// every host on the segment updates its cache to our MAC.
    pub fn announce(index: u32, mac: &[u8], ip: Ipv4Addr) -> std::io::Result<()> {
        if mac.len() != 6 {
            return Ok(()); // no link-layer address (e.g. loopback): nothing to announce
        }
        let (sock, addr) = open(index)?;
        send(&sock, &addr, &frame(mac, ip, ip))
    }

    /// ARP probe (RFC 5227: sender 0.0.0.0); returns the MAC of a host that
    /// answers for `ip` within `wait`.
    pub fn probe(index: u32, mac: &[u8], ip: Ipv4Addr, wait: Duration) -> Option<Vec<u8>> {
        if mac.len() != 6 {
            return None;
        }
        let (sock, addr) = open(index).ok()?;
        send(&sock, &addr, &frame(mac, Ipv4Addr::UNSPECIFIED, ip)).ok()?;
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 128];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let tv = libc::timeval {
                tv_sec: left.as_secs() as libc::time_t,
                tv_usec: left.subsec_micros().max(1000) as libc::suseconds_t,
            };
            // SAFETY: tv is a valid timeval for SO_RCVTIMEO.
            unsafe {
                libc::setsockopt(
                    sock.0,
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    &tv as *const libc::timeval as *const libc::c_void,
                    std::mem::size_of::<libc::timeval>() as u32,
                )
            };
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(sock.0, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
            if n < 42 {
                if n < 0 {
                    return None;
                }
                continue;
            }
            let is_reply = buf[12..14] == [0x08, 0x06] && buf[20..22] == [0, 2];
            if is_reply && buf[28..32] == ip.octets() {
                return Some(buf[22..28].to_vec());
            }
        }
        None
    }
}

/// Unsolicited neighbour advertisements (RFC 4861 7.2.6) on a raw ICMPv6
/// socket; the kernel fills in the checksum for this socket type.
mod ndp {
    use super::Ipv6Addr;

    struct Sock(i32);
    impl Drop for Sock {
        fn drop(&mut self) {
            // SAFETY: the fd is owned by this guard and closed once.
            unsafe { libc::close(self.0) };
        }
    }

    fn setopt(fd: i32, level: i32, name: i32, value: i32) -> std::io::Result<()> {
        // SAFETY: value is a valid int for the options used here.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &value as *const i32 as *const libc::c_void,
                std::mem::size_of::<i32>() as u32,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The advertisement: type 136, Override set (Solicited and Router
    /// clear), target = the VIP, option 2 = our link-layer address.
    pub fn message(mac: &[u8], target: Ipv6Addr) -> Vec<u8> {
        let mut m = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
        m.extend_from_slice(&target.octets());
        if mac.len() == 6 {
            m.extend_from_slice(&[2, 1]);
            m.extend_from_slice(mac);
        }
        m
    }

    /// Sends one advertisement for `ip` (already on the interface, so it
    /// can be the source) to all nodes on the link.
    pub fn advertise(index: u32, mac: &[u8], ip: Ipv6Addr) -> std::io::Result<()> {
        if mac.len() != 6 {
            return Ok(()); // no link-layer address (e.g. loopback): nothing to announce
        }
        // SAFETY: plain socket(2) call; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let sock = Sock(fd);
        // Neighbour discovery messages must arrive with hop limit 255.
        setopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 255)?;
        setopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_IF,
            index as i32,
        )?;
        // SAFETY: sockaddr_in6 is plain old data; all-zero is a valid value.
        let mut src: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        src.sin6_family = libc::AF_INET6 as u16;
        src.sin6_addr.s6_addr = ip.octets();
        if ip.segments()[0] & 0xffc0 == 0xfe80 {
            src.sin6_scope_id = index;
        }
        // SAFETY: src is a valid sockaddr_in6 of the given length.
        let rc = unsafe {
            libc::bind(
                sock.0,
                &src as *const libc::sockaddr_in6 as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in6>() as u32,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut dst: libc::sockaddr_in6 = src;
        dst.sin6_addr.s6_addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets();
        dst.sin6_scope_id = index;
        let msg = message(mac, ip);
        // SAFETY: msg and dst are valid for the lengths passed.
        let n = unsafe {
            libc::sendto(
                sock.0,
                msg.as_ptr() as *const libc::c_void,
                msg.len(),
                0,
                &dst as *const libc::sockaddr_in6 as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in6>() as u32,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn advertisement_layout() {
            let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
            let m = message(&[2, 0, 0, 0, 0, 1], ip);
            assert_eq!(m.len(), 32);
            assert_eq!(m[0], 136);
            assert_eq!(m[4], 0x20, "override only");
            assert_eq!(&m[8..24], &ip.octets());
            assert_eq!(&m[24..26], &[2, 1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(extra: &[(&str, &str)]) -> VipParams {
        let mut m: BTreeMap<String, String> = [("ip", "198.18.0.100"), ("nic", "eth0")]
            .into_iter()
            .chain(extra.iter().copied())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.insert("cidr_netmask".into(), "24".into());
        parse(&m).unwrap()
    }

    #[test]
    fn a_start_right_after_the_previous_holder_was_fenced_skips_the_duplicate_check() {
        let none = BTreeMap::new();
        let fenced: BTreeMap<String, String> =
            [(FENCED_HOLDER_META.to_string(), "node1".to_string())].into();
        assert!(checks_for_duplicates(&params(&[]), &none));
        assert!(!checks_for_duplicates(&params(&[]), &fenced));
        assert!(!checks_for_duplicates(&params(&[("dad", "false")]), &none));
    }
}
