//! ICMP echo, so the lab can tell whether an address answers without a
//! `ping` binary on the machine (the demo needs nothing but paceline and
//! iproute2). Needs CAP_NET_RAW (the lab runs as root).

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum = sum.wrapping_add(u32::from(word));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(id: u16, seq: u16) -> [u8; 16] {
    let mut packet = [0u8; 16];
    packet[0] = 8; // echo request
    packet[4..6].copy_from_slice(&id.to_be_bytes());
    packet[6..8].copy_from_slice(&seq.to_be_bytes());
    packet[8..16].copy_from_slice(b"paceline");
    let sum = checksum(&packet);
    packet[2..4].copy_from_slice(&sum.to_be_bytes());
    packet
}

/// Sends echo requests to `addr` (one every 100 ms) until a reply comes or
/// `timeout` passes; returns the round trip of the first reply.
pub fn icmp_echo(addr: Ipv4Addr, timeout: Duration) -> std::io::Result<Duration> {
    // SAFETY: plain socket(2) call; the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let id = (std::process::id() & 0xffff) as u16;
    let dest = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        sin_zero: [0; 8],
    };
    let start = Instant::now();
    let mut seq: u16 = 0;
    while start.elapsed() < timeout {
        seq = seq.wrapping_add(1);
        let packet = echo_request(id, seq);
        let sent_at = Instant::now();
        // SAFETY: packet and dest outlive the call; lengths match.
        let sent = unsafe {
            libc::sendto(
                socket.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&dest as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            let err = std::io::Error::last_os_error();
            // No route or the link is down: the address does not answer yet.
            if !matches!(
                err.raw_os_error(),
                Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::ENETDOWN)
            ) {
                return Err(err);
            }
        }
        let wait_until = sent_at + Duration::from_millis(100);
        while Instant::now() < wait_until {
            let left = wait_until.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, 100) as libc::c_int;
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
            if ready <= 0 {
                continue;
            }
            let mut buf = [0u8; 1500];
            // SAFETY: buf is writable for its length.
            let n =
                unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                continue;
            }
            let data = &buf[..n as usize];
            // A raw socket hands us the IP header first.
            let ihl = usize::from(data[0] & 0x0f) * 4;
            if data.len() < ihl + 8 || data[12..16] != addr.octets() {
                continue;
            }
            let icmp = &data[ihl..];
            if icmp[0] == 0 && icmp[4..6] == id.to_be_bytes() {
                return Ok(start.elapsed().min(sent_at.elapsed()));
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{addr} did not answer within {} ms", timeout.as_millis()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_packet() {
        let p = echo_request(0x1234, 1);
        // The checksum makes the whole packet sum to zero.
        assert_eq!(checksum(&p), 0);
    }
}
